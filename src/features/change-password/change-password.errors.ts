import { defineErrors } from "../../core/errors.js";

export const CHANGE_PASSWORD = defineErrors({
  PASSWORD_IS_THE_SAME: "Your new password must be different than your previous password.",
});
