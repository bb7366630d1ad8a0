import { defineErrors } from "../../core/errors.js";

export const MAGIC_LINK = defineErrors({
  INVALID_SIGN_IN_LINK: "This sign-in link is not valid. Request a new one.",
  SIGN_IN_LINK_EXPIRED: "This sign-in link has expired. Request a new one.",
});
