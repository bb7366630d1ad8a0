import { defineErrors } from "../../core/errors.js";

export const CHANGE_EMAIL = defineErrors({
  EMAIL_IS_THE_SAME: "Your new email address must be different from your current one.",
  INVALID_CHANGE_EMAIL_TOKEN: "Invalid email change token.",
  CHANGE_EMAIL_EXPIRED: "The email change link has expired. Ask for a new one.",
});
