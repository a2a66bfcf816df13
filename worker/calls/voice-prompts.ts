/**
 * What callers hear, in Hebrew for he-IL businesses and English for every other locale. Hebrew
 * needs a voice that speaks it (Twilio's default voices do not): Google's he-IL voice.
 */
import { type Attrs, say, type TwimlElement } from "./twiml";

export type VoiceLanguage = "he" | "en";

export function voiceLanguage(locale: string | null | undefined): VoiceLanguage {
  return (locale ?? "").toLowerCase().startsWith("he") ? "he" : "en";
}

const VOICE: Record<VoiceLanguage, Attrs & { language: string; voice?: string }> = {
  he: { language: "he-IL", voice: "Google.he-IL-Standard-A" },
  en: { language: "en-US" },
};

const TEXT = {
  he: {
    greeting: (business: string) => `שלום, הגעתם ל${business}.`,
    atCapacity: "שלום, כל הקווים שלנו תפוסים כרגע. אנא נסו שוב בעוד מספר דקות. תודה ולהתראות.",
    voicemail: "אנא השאירו הודעה לאחר הצליל, ונחזור אליכם בהקדם.",
    notInService: "המספר שחייגתם אינו זמין. להתראות.",
  },
  en: {
    greeting: (business: string) => `Hello, you have reached ${business}.`,
    atCapacity: "Hello, all our lines are busy right now. Please try again in a few minutes. Thank you, goodbye.",
    voicemail: "Please leave a message after the tone, and we will get back to you soon.",
    notInService: "The number you have called is not in service. Goodbye.",
  },
} as const;

export type PromptKey = "atCapacity" | "voicemail" | "notInService";

export function sayPrompt(lang: VoiceLanguage, key: PromptKey): TwimlElement {
  return say(TEXT[lang][key], { ...VOICE[lang] });
}

/** The business's own greeting text, or a default naming the business. */
export function sayGreeting(lang: VoiceLanguage, businessName: string, greetingText: string | null): TwimlElement {
  return say(greetingText?.trim() || TEXT[lang].greeting(businessName), { ...VOICE[lang] });
}
