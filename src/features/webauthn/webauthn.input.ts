// Everything a client sends to the passkey operations, checked before it reaches the library or
// the database: the relying party from config, passkey names, and the JSON text of a
// PublicKeyCredential (its toJSON()), size-limited, parsed, and reduced to the known fields.
import { z } from "zod";
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from "@simplewebauthn/server";
import type { Config } from "../../config/index.js";
import { FIELD, InputCheck } from "../../core/errors.js";
import { WEBAUTHN } from "./webauthn.errors.js";

/** Largest response JSON accepted (an attestation "none" response is < 2 KB; packed with certificates < 10 KB). */
export const MAX_RESPONSE_CHARS = 32_768;
export const NAME_MAX_LENGTH = 64;

export interface RelyingParty {
  id: string;
  name: string;
  origins: string[];
}

/** rpId, name and origins from config (derived from publicUrl when unset); a mismatch fails at start. */
export function relyingParty(config: Config): RelyingParty {
  const pub = new URL(config.publicUrl);
  const id = (config.webauthn.rpId ?? pub.hostname).toLowerCase();
  const origins = (config.webauthn.origins.length ? config.webauthn.origins : [pub.origin]).map((o) => {
    let url: URL;
    try {
      url = new URL(o);
    } catch {
      throw new Error(`webauthn.origins: "${o}" is not an origin (scheme://host[:port])`);
    }
    const host = url.hostname.toLowerCase();
    if (host !== id && !host.endsWith(`.${id}`)) {
      throw new Error(`webauthn.origins: ${url.origin} is not on the relying-party ID "${id}" (webauthn.rpId must be its host or a parent domain)`);
    }
    return url.origin;
  });
  return { id, name: config.webauthn.rpName ?? config.productName, origins };
}

/**
 * A passkey name: NFKC, trimmed, inner whitespace collapsed; 1–64 characters, no control or
 * format characters. The key (lower case) is what must be unique per user.
 */
export function checkName(check: InputCheck, field: string, raw: string): { name: string; nameKey: string } {
  const name = raw.normalize("NFKC").trim().replace(/\s+/gu, " ");
  const length = [...name].length;
  if (raw.length > NAME_MAX_LENGTH * 4) check.add(field, FIELD.TOO_LONG);
  else if (length === 0) check.add(field, FIELD.REQUIRED);
  else if (length > NAME_MAX_LENGTH || /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(name)) check.add(field, WEBAUTHN.WEBAUTHN_INVALID_NAME);
  return { name, nameKey: name.toLowerCase() };
}

const b64u = (max: number) => z.string().min(1).max(max).regex(/^[A-Za-z0-9_-]+$/);
// A credential id is at most 1023 bytes (WebAuthn §5.8.3): 1364 base64url characters.
const credentialId = b64u(1364);
const common = {
  id: credentialId,
  rawId: credentialId,
  type: z.literal("public-key"),
  authenticatorAttachment: z.enum(["platform", "cross-platform"]).optional().catch(undefined),
  clientExtensionResults: z.record(z.string(), z.unknown()).optional().default({}),
};

const registrationSchema = z.object({
  ...common,
  response: z.object({
    clientDataJSON: b64u(4096),
    attestationObject: b64u(24_576),
    transports: z.array(z.string().max(32)).max(10).optional(),
  }),
});

const authenticationSchema = z.object({
  ...common,
  response: z.object({
    clientDataJSON: b64u(4096),
    authenticatorData: b64u(4096),
    signature: b64u(2048),
    // Absent, null or empty for non-discoverable credentials.
    userHandle: z.union([b64u(128), z.literal(""), z.null()]).optional(),
  }),
});

const clientDataSchema = z.object({
  type: z.string().max(64),
  challenge: b64u(128),
  origin: z.string().max(1024),
});

export interface ClientData {
  type: string;
  challenge: string;
  origin: string;
}

export type Parsed<T> = { response: T; clientData: ClientData };

function parseJson(field: string, raw: string): unknown {
  const check = new InputCheck();
  if (raw.length === 0) check.add(field, FIELD.REQUIRED).throwIfAny();
  if (raw.length > MAX_RESPONSE_CHARS) check.add(field, FIELD.TOO_LONG).throwIfAny();
  try {
    return JSON.parse(raw);
  } catch {
    return check.add(field, WEBAUTHN.WEBAUTHN_MALFORMED_RESPONSE).throwIfAny();
  }
}

function parseWith<T extends { response: { clientDataJSON: string } }>(field: string, raw: string, schema: z.ZodType<T>): Parsed<T> {
  const malformed = () => new InputCheck().add(field, WEBAUTHN.WEBAUTHN_MALFORMED_RESPONSE).throwIfAny();
  const result = schema.safeParse(parseJson(field, raw));
  if (!result.success) return malformed() as never;
  let clientData: unknown;
  try {
    clientData = JSON.parse(Buffer.from(result.data.response.clientDataJSON, "base64url").toString("utf8"));
  } catch {
    return malformed() as never;
  }
  const cd = clientDataSchema.safeParse(clientData);
  if (!cd.success) return malformed() as never;
  return { response: result.data, clientData: cd.data };
}

/** The JSON of navigator.credentials.create()'s credential. */
export const parseRegistration = (field: string, raw: string): Parsed<RegistrationResponseJSON> =>
  parseWith(field, raw, registrationSchema as unknown as z.ZodType<RegistrationResponseJSON>);

/** The JSON of navigator.credentials.get()'s credential. */
export function parseAuthentication(field: string, raw: string): Parsed<AuthenticationResponseJSON> {
  const parsed = parseWith(field, raw, authenticationSchema as unknown as z.ZodType<AuthenticationResponseJSON & { response: { userHandle?: string | null } }>);
  // The library wants a string or nothing.
  if (!parsed.response.response.userHandle) delete parsed.response.response.userHandle;
  return parsed;
}
