/**
 * Password hashing with PBKDF2-SHA256 through WebCrypto (no native code, runs in workerd and
 * Node). Format: `pbkdf2-sha256$<iterations>$<salt b64>$<hash b64>`; the iteration count travels
 * with the hash so it can be raised later and old hashes still verify (and get rehashed on sign-in).
 */
import { timingSafeEqual } from "../lib/constant-time";

const encoder = new TextEncoder();
const PREFIX = "pbkdf2-sha256";
const HASH_BYTES = 32;

function b64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

function unb64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (ch) => ch.charCodeAt(0));
}

async function derive(password: string, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", encoder.encode(password), "PBKDF2", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt, iterations },
    key,
    HASH_BYTES * 8,
  );
  return new Uint8Array(bits);
}

export async function hashPassword(password: string, iterations: number): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const hash = await derive(password, salt, iterations);
  return `${PREFIX}$${iterations}$${b64(salt)}$${b64(hash)}`;
}

export interface PasswordCheck {
  valid: boolean;
  /** The stored hash used fewer iterations than wanted now: rehash after a successful sign-in. */
  needsRehash: boolean;
}

export async function verifyPassword(
  password: string,
  stored: string | null,
  wantedIterations: number,
): Promise<PasswordCheck> {
  // No such user: the same derivation at the configured cost, so the answer's timing says
  // nothing about which emails exist.
  const [prefix, iterationsText, saltText, hashText] = (stored ?? dummyHash(wantedIterations)).split("$");
  const iterations = Number(iterationsText);
  if (prefix !== PREFIX || !Number.isInteger(iterations) || iterations <= 0 || !saltText || !hashText) {
    return { valid: false, needsRehash: false };
  }
  const expected = unb64(hashText);
  const actual = await derive(password, unb64(saltText), iterations);
  const valid = stored !== null && (await timingSafeEqual(expected, actual));
  return { valid, needsRehash: valid && iterations < wantedIterations };
}

/** A hash that never verifies (no password derives to all zero bytes), at `iterations` rounds. */
export function dummyHash(iterations: number): string {
  return `${PREFIX}$${iterations}$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=`;
}
