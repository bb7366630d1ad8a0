import { defineErrors } from "../../core/errors.js";

export const AUTH = defineErrors({
  GENERIC_AUTHN_FAILED: "Invalid credentials.",
  INVALID_PASSWORD: "Invalid password.",
  DISABLED_ACCOUNT: "Account is disabled.",
});
