import { defineErrors } from "../../core/errors.js";

// The WEBAUTHN_* codes of Flask-Security-Too where they exist, plus ours for what it does not name.
export const WEBAUTHN = defineErrors({
  WEBAUTHN_EXPIRED: "This passkey request has expired or was already used. Start again.",
  WEBAUTHN_NAME_INUSE: "You already have a passkey with this name.",
  WEBAUTHN_CREDENTIAL_ID_INUSE: "This passkey is already registered.",
  WEBAUTHN_UNKNOWN_CREDENTIAL_ID: "This passkey is not registered here.",
  WEBAUTHN_ORPHAN_CREDENTIAL_ID: "This passkey belongs to an account that no longer exists.",
  WEBAUTHN_CREDENTIAL_WRONG_USAGE: "This passkey is registered for another use: FIRST passkeys sign in, SECONDARY passkeys are second factors.",
  WEBAUTHN_MISMATCH_USER_HANDLE: "The passkey answered for another account.",
  WEBAUTHN_NO_VERIFY: "You have no passkey to verify with.",
  WEBAUTHN_TOO_MANY: "You have registered the most passkeys allowed. Delete one first.",
  WEBAUTHN_ORIGIN_MISMATCH: "The passkey ceremony ran on a page whose origin is not allowed (webauthn.origins).",
  WEBAUTHN_RPID_MISMATCH: "The passkey was used for another relying party ID than this server's (webauthn.rpId).",
  WEBAUTHN_VERIFICATION_FAILED: "The passkey response could not be verified.",
  WEBAUTHN_COUNTER_REGRESSION: "This passkey's signature counter went backwards; it may have been cloned. It was refused.",
  WEBAUTHN_MALFORMED_RESPONSE: "This is not a valid passkey response.",
  WEBAUTHN_INVALID_NAME: "A passkey name must be 1 to 64 characters, without control characters.",
});
