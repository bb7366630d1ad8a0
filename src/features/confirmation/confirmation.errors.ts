import { defineErrors } from "../../core/errors.js";

export const CONFIRMATION = defineErrors({
  INVALID_CONFIRMATION_TOKEN: "Invalid confirmation token.",
  CONFIRMATION_EXPIRED: "The confirmation link has expired. Request a new one.",
  ALREADY_CONFIRMED: "Your email has already been confirmed.",
  CONFIRMATION_REQUIRED: "Email requires confirmation.",
});
