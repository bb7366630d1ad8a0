// Hand-made JWTs for attack tests: everything here is built with node:crypto (and jose only to make
// an attacker's own key pair), never with the server's signing code.
import { createHmac, createPublicKey, type JsonWebKey } from "node:crypto";
import { SignJWT, exportJWK, generateKeyPair } from "jose";

export type Json = Record<string, unknown>;

export const b64url = (data: Buffer | string): string => Buffer.from(data).toString("base64url");
export const b64json = (value: unknown): string => b64url(JSON.stringify(value));

export interface DecodedJwt {
  header: Json;
  payload: Json;
  signature: string;
  signingInput: string;
}

export function decodeJwt(token: string): DecodedJwt {
  const [h, p, sig] = token.split(".");
  if (h === undefined || p === undefined || sig === undefined) throw new Error(`not a JWS compact token: ${token}`);
  return {
    header: JSON.parse(Buffer.from(h, "base64url").toString("utf8")) as Json,
    payload: JSON.parse(Buffer.from(p, "base64url").toString("utf8")) as Json,
    signature: sig,
    signingInput: `${h}.${p}`,
  };
}

/** header.payload.signature with whatever signature the caller gives (default: none at all). */
export const compact = (header: Json, payload: Json, signature = ""): string => `${b64json(header)}.${b64json(payload)}.${signature}`;

const HMAC_DIGEST = { HS256: "sha256", HS384: "sha384", HS512: "sha512" } as const;

/** HMAC-signed token with the given secret (the classic RS/EdDSA → HS key-confusion attack). */
export function hmacJwt(alg: keyof typeof HMAC_DIGEST, header: Json, payload: Json, secret: Buffer | string): string {
  const input = `${b64json({ ...header, alg })}.${b64json(payload)}`;
  return `${input}.${createHmac(HMAC_DIGEST[alg], secret).update(input).digest("base64url")}`;
}

/** The same token with a payload edited but the original signature kept. */
export function withPayload(token: string, patch: Json): string {
  const d = decodeJwt(token);
  const [h] = token.split(".");
  return `${h}.${b64json({ ...d.payload, ...patch })}.${d.signature}`;
}

/** The same token with bytes of its signature flipped (decoded, XORed, re-encoded). */
export function flipSignature(token: string, positions: number[] = [0]): string {
  const [h, p, sig] = token.split(".");
  const bytes = Buffer.from(sig ?? "", "base64url");
  for (const i of positions) bytes[i % bytes.length] = (bytes[i % bytes.length] as number) ^ 0xff;
  return `${h}.${p}.${bytes.toString("base64url")}`;
}

/**
 * Encodings of a public JWK an attacker might feed an HMAC verifier that confuses key types: the
 * JWKS entry as JSON, the raw public key bytes, the base64url text of `x`, and PEM / DER SPKI.
 */
export function publicKeyEncodings(jwk: JsonWebKey & { kid?: string; alg?: string; use?: string }): Array<{ name: string; secret: Buffer | string }> {
  const x = String(jwk.x);
  const key = createPublicKey({ key: { kty: jwk.kty, crv: jwk.crv, x }, format: "jwk" });
  return [
    { name: "jwk-json", secret: JSON.stringify(jwk) },
    { name: "jwk-json-minimal", secret: JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x }) },
    { name: "raw-x-bytes", secret: Buffer.from(x, "base64url") },
    { name: "x-base64url-text", secret: x },
    { name: "spki-pem", secret: key.export({ type: "spki", format: "pem" }) as string },
    { name: "spki-der", secret: key.export({ type: "spki", format: "der" }) },
  ];
}

/** A token signed with an attacker's own Ed25519 key, optionally embedding its public JWK in the header. */
export async function signWithAttackerKey(header: Json, payload: Json, opts: { embedJwk?: boolean } = {}): Promise<string> {
  const { publicKey, privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  const jwk = await exportJWK(publicKey);
  return new SignJWT(payload)
    .setProtectedHeader({ ...header, alg: "EdDSA", ...(opts.embedJwk ? { jwk } : {}) })
    .sign(privateKey);
}
