/**
 * A small TwiML builder: elements, attributes and text, escaped the way Twilio's own library
 * (xmlbuilder) escapes them, so tests/node/twiml.test.ts can compare output byte for byte with
 * `twilio.twiml.VoiceResponse`. Characters XML 1.0 forbids (control characters) are dropped.
 */
type AttrValue = string | number | boolean | undefined;
export type Attrs = Record<string, AttrValue>;

export interface TwimlElement {
  name: string;
  attrs: Attrs;
  children: (TwimlElement | string)[];
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: these are exactly the characters XML 1.0 forbids.
const ILLEGAL_XML_CHARS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;

function escapeText(text: string): string {
  return text
    .replace(ILLEGAL_XML_CHARS, "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/\r/g, "&#xD;");
}

function escapeAttr(text: string): string {
  return text
    .replace(ILLEGAL_XML_CHARS, "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/"/g, "&quot;")
    .replace(/\t/g, "&#x9;")
    .replace(/\n/g, "&#xA;")
    .replace(/\r/g, "&#xD;");
}

export function el(name: string, attrs: Attrs = {}, ...children: (TwimlElement | string)[]): TwimlElement {
  return { name, attrs, children };
}

function render(node: TwimlElement | string): string {
  if (typeof node === "string") return escapeText(node);
  const attrs = Object.entries(node.attrs)
    .filter((entry): entry is [string, string | number | boolean] => entry[1] !== undefined)
    .map(([k, v]) => ` ${k}="${escapeAttr(String(v))}"`)
    .join("");
  if (node.children.length === 0) return `<${node.name}${attrs}/>`;
  return `<${node.name}${attrs}>${node.children.map(render).join("")}</${node.name}>`;
}

/** A complete TwiML document: `<Response>` with the given verbs. */
export function twimlResponse(...verbs: TwimlElement[]): string {
  return `<?xml version="1.0" encoding="UTF-8"?>${render(el("Response", {}, ...verbs))}`;
}

export const say = (text: string, attrs: { language?: string; voice?: string; loop?: number } = {}) =>
  el("Say", attrs, text);
export const dial = (number: string, attrs: { timeout?: number; callerId?: string; action?: string } = {}) =>
  el("Dial", attrs, number);
export const record = (attrs: {
  action?: string;
  maxLength?: number;
  playBeep?: boolean;
  timeout?: number;
  recordingStatusCallback?: string;
  recordingStatusCallbackEvent?: string;
  recordingStatusCallbackMethod?: "POST" | "GET";
}) => el("Record", attrs);
export const hangup = () => el("Hangup");
