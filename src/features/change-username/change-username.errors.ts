import { defineErrors } from "../../core/errors.js";

export const CHANGE_USERNAME = defineErrors({
  USERNAME_IS_THE_SAME: "Your new username must be different from your current one.",
  USERNAME_CHANGE_IN_PROGRESS: "Another change of your username is in progress. Try again in a moment.",
});
