import { defineErrors } from "../../core/errors.js";

export const TWO_FACTOR = defineErrors({
  INVALID_CODE: "Invalid code.",
  TWO_FACTOR_METHOD_NOT_AVAILABLE: "This second-factor method is not available.",
  TWO_FACTOR_NO_PENDING_SETUP: "There is no second-factor setup to confirm. Start again.",
  TWO_FACTOR_REQUIRED: "A second factor is required: the last one cannot be removed.",
  TWO_FACTOR_NOT_ENABLED: "Set up a second factor first.",
  TWO_FACTOR_SAME_CHANNEL: "This sign-in came through your mailbox, which is also your only second factor: sign in with your password instead.",
});
