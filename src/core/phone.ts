// Phone numbers in E.164, the one form stored and sent to SMS providers.
import { defineErrors } from "./errors.js";

export const PHONE = defineErrors({
  PHONE_INVALID: "Give the phone number with its country code, e.g. +44 20 7946 0000.",
});

/**
 * E.164 after normalisation, or null: spaces (any Unicode space), dots, dashes, slashes and
 * parentheses go, a leading 00 becomes +; then + and 7 to 15 digits, the first not 0. No national
 * format: without a country code a number cannot be read unambiguously.
 */
export function toE164(raw: string): string | null {
  let digits = raw.replace(/[\s.\-/()\u2010-\u2015\u2212]/gu, "");
  if (digits.startsWith("00")) digits = `+${digits.slice(2)}`;
  return /^\+[1-9][0-9]{6,14}$/.test(digits) ? digits : null;
}

/** "+4915…89" style: enough for its owner to recognise, little for anyone else. */
export const maskPhone = (e164: string): string => `${e164.slice(0, 4)}…${e164.slice(-2)}`;
