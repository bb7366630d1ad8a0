// Identity rules (Flask-Security's): emails validated and normalised (case-insensitive lookup),
// usernames NFKD-normalised letters and digits, case-insensitive.
import { defineErrors, type InputCheck } from "./errors.js";

export const IDENTITY = defineErrors({
  INVALID_EMAIL_ADDRESS: "The email address is not valid.",
  USERNAME_INVALID_LENGTH: "The username length is not allowed.",
  USERNAME_ILLEGAL_CHARACTERS: "The username must start with a letter and contain only letters and digits.",
});

// Deliberately simple: one "@", a dot-separated domain, no spaces or control characters.
const EMAIL_RE = /^[^\s@"<>()[\]\\,;:\u0000-\u001f\u007f]+@(?:[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?\.)+[\p{L}]{2,63}$/u;

export interface IdentityLimits {
  usernameMinLength: number;
  usernameMaxLength: number;
  emailMaxLength: number;
}

export interface NormalizedEmail {
  email: string;
  emailKey: string;
}

export function normalizeEmail(raw: string): NormalizedEmail {
  const trimmed = raw.trim().normalize("NFKC");
  const at = trimmed.lastIndexOf("@");
  const email = at > 0 ? `${trimmed.slice(0, at)}@${trimmed.slice(at + 1).toLowerCase()}` : trimmed;
  return { email, emailKey: email.toLowerCase() };
}

export function checkEmail(check: InputCheck, field: string, raw: string, limits: IdentityLimits): NormalizedEmail {
  const n = normalizeEmail(raw);
  if (n.email.length > limits.emailMaxLength || !EMAIL_RE.test(n.email)) {
    check.add(field, IDENTITY.INVALID_EMAIL_ADDRESS);
  }
  return n;
}

export const usernameKey = (raw: string): string => raw.trim().normalize("NFKD").toLowerCase();

export function checkUsername(check: InputCheck, field: string, raw: string, limits: IdentityLimits): { username: string; usernameKey: string } {
  const username = raw.trim().normalize("NFKD");
  const length = [...username.normalize("NFC")].length;
  if (length < limits.usernameMinLength || length > limits.usernameMaxLength) {
    check.add(field, IDENTITY.USERNAME_INVALID_LENGTH, `The username must be ${limits.usernameMinLength} to ${limits.usernameMaxLength} characters long.`);
  } else if (!/^\p{L}\p{M}*[\p{L}\p{M}\p{N}]*$/u.test(username)) {
    check.add(field, IDENTITY.USERNAME_ILLEGAL_CHARACTERS);
  }
  return { username, usernameKey: username.toLowerCase() };
}

/** A login identity is an email if it has an "@", else a username. */
export function identityLookup(raw: string): { emailKey: string } | { usernameKey: string } {
  return raw.includes("@") ? { emailKey: normalizeEmail(raw).emailKey } : { usernameKey: usernameKey(raw) };
}

/** "a…@example.com": enough for its owner to recognise where a code went, little for anyone else. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf("@");
  return `${email.slice(0, Math.min(1, at))}…${email.slice(at)}`;
}
