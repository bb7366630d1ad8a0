// Small, dependency-free primitives used across the kernel.
import { createHash, createHmac, randomBytes, timingSafeEqual, createCipheriv, createDecipheriv, hkdfSync } from "node:crypto";

export const randomToken = (bytes = 32): string => randomBytes(bytes).toString("base64url");

/** Hash of a high-entropy token for storage and lookup (no salt needed: the token is random). */
export const sha256 = (value: string): string => createHash("sha256").update(value).digest("base64url");

export const hmac = (key: string, value: string): string => createHmac("sha256", key).update(value).digest("base64url");

export function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  if (ab.length !== bb.length) {
    timingSafeEqual(ab, ab);
    return false;
  }
  return timingSafeEqual(ab, bb);
}

/** Derives a purpose-specific 32-byte key so one configured secret never serves two purposes. */
export const deriveKey = (secret: string, purpose: string): Buffer =>
  Buffer.from(hkdfSync("sha256", secret, "gql-auth", purpose, 32));

/** AES-256-GCM; output "v1.<iv>.<tag>.<ciphertext>" in base64url. */
export function encrypt(key: Buffer, plaintext: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  const ct = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return ["v1", iv.toString("base64url"), cipher.getAuthTag().toString("base64url"), ct.toString("base64url")].join(".");
}

export function decrypt(key: Buffer, sealed: string): string {
  const [v, iv, tag, ct] = sealed.split(".");
  if (v !== "v1" || !iv || !tag || ct === undefined) throw new Error("unsupported ciphertext format");
  const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64url"));
  decipher.setAuthTag(Buffer.from(tag, "base64url"));
  return Buffer.concat([decipher.update(Buffer.from(ct, "base64url")), decipher.final()]).toString("utf8");
}

/**
 * Encryption at rest with a rotatable key: the current key seals, earlier keys still open. A sealed
 * value is "v2.<key fingerprint>.<iv>.<tag>.<ciphertext>", bound to `aad` (e.g. the owner's id) so a
 * value copied onto another record does not open. `open` says when a value was sealed with an
 * earlier key, so callers re-seal it with the current one.
 */
export class Sealer {
  private readonly keys: Array<{ fp: string; key: Buffer }>;
  constructor(current: string, previous: readonly string[], purpose: string) {
    this.keys = [current, ...previous].map((secret) => {
      const key = deriveKey(secret, purpose);
      return { fp: sha256(key.toString("base64url")).slice(0, 8), key };
    });
  }

  seal(plaintext: string, aad: string): string {
    const { fp, key } = this.keys[0]!;
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", key, iv);
    cipher.setAAD(Buffer.from(aad, "utf8"));
    const ct = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return ["v2", fp, iv.toString("base64url"), cipher.getAuthTag().toString("base64url"), ct.toString("base64url")].join(".");
  }

  open(sealed: string, aad: string): { plaintext: string; stale: boolean } {
    const [v, fp, iv, tag, ct] = sealed.split(".");
    const index = this.keys.findIndex((k) => k.fp === fp);
    if (v !== "v2" || index < 0 || !iv || !tag || ct === undefined) throw new Error("sealed value: unknown format or key");
    const decipher = createDecipheriv("aes-256-gcm", this.keys[index]!.key, Buffer.from(iv, "base64url"));
    decipher.setAAD(Buffer.from(aad, "utf8"));
    decipher.setAuthTag(Buffer.from(tag, "base64url"));
    const plaintext = Buffer.concat([decipher.update(Buffer.from(ct, "base64url")), decipher.final()]).toString("utf8");
    return { plaintext, stale: index > 0 };
  }
}
