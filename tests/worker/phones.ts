import { parsePhoneNumberFromString } from "libphonenumber-js/max";

let sequence = Math.floor(Math.random() * 1_000_000);

/** A fresh, valid Israeli mobile number in E.164 (checked with the same library production uses). */
export function uniquePhone(): string {
  for (;;) {
    sequence = (sequence + 7919) % 10_000_000;
    const candidate = `+97254${String(sequence).padStart(7, "0")}`;
    if (parsePhoneNumberFromString(candidate)?.isValid()) return candidate;
  }
}
