import { defineErrors } from "../../core/errors.js";

export const RECOVERY = defineErrors({
  INVALID_RESET_PASSWORD_TOKEN: "Invalid reset password token.",
  PASSWORD_RESET_EXPIRED: "The password reset link has expired. Request a new one.",
});
