import { defineErrors } from "../../core/errors.js";

/**
 * Field error codes of updateProfile (extensions.fieldErrors[].code). REQUIRED and TOO_LONG come
 * from FIELD, PHONE_INVALID from core/phone.ts (the rule two-factor SMS numbers follow too).
 */
export const PROFILE = defineErrors({
  INVALID_CHARACTERS: "This value contains characters that are not allowed (control characters, invisible direction marks).",
  INVALID_DATE_OF_BIRTH: "The date of birth must be a date YYYY-MM-DD from 1900-01-01 to today.",
  INVALID_COUNTRY: "The country must be an ISO 3166-1 alpha-2 code, e.g. DE.",
  INVALID_POSTAL_CODE: "The postal code may contain letters, digits, spaces and dashes only.",
  INVALID_AVATAR_URL: "The avatar URL must be an https URL without user name or password.",
});
