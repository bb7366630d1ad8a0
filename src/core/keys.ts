// The signing key ring: asymmetric (Ed25519) keys with a kid, private halves encrypted at rest,
// shared by every instance through the database and reloaded periodically. The newest active
// key signs; retired keys keep verifying (and stay in the JWKS) until their last token expired.
import { exportJWK, generateKeyPair, importJWK, type JWK, type CryptoKey } from "jose";
import type { Model } from "mongoose";
import type { SigningKeyData } from "../db/kernel.models.js";
import { addSeconds, type Clock } from "./clock.js";
import { decrypt, deriveKey, encrypt, randomToken } from "./crypto.js";

export const SIGNING_ALG = "EdDSA";

interface LoadedKey {
  kid: string;
  publicJwk: JWK;
  publicKey: CryptoKey;
  privateKey?: CryptoKey;
  activatedAt: Date;
  retiredAt: Date | null;
}

export class KeyRing {
  private keys = new Map<string, LoadedKey>();
  private lastUnknownKidReload = 0;
  private readonly sealKey: Buffer;

  constructor(
    private readonly SigningKey: Model<SigningKeyData>,
    encryptionSecret: string,
    private readonly timing: {
      /** How long a retired key stays published: token lifetime + key refresh interval + margin. */
      retainSeconds: number;
      /** A new key is published this long before it signs, so every instance serves it first. */
      activationDelaySeconds: number;
    },
    private readonly clock: Clock,
    /** Earlier encryption secrets (secrets.previousEncryptionKeys): keys sealed with them still open. */
    previousSecrets: readonly string[] = [],
  ) {
    this.sealKey = deriveKey(encryptionSecret, "signing-keys");
    this.previousSealKeys = previousSecrets.map((s) => deriveKey(s, "signing-keys"));
  }
  private readonly previousSealKeys: Buffer[];

  /**
   * Adds a key that is published at once and signs from `now + delay`. Until then the current key
   * keeps signing; it retires (verifies only) when the new one takes over. `delaySeconds: 0` is
   * for a compromised key, accepting that instances which have not reloaded yet briefly publish a
   * JWKS without the new key. A key still pending from an earlier rotation is dropped (it never
   * signed anything): the newest rotation wins.
   */
  async rotate(opts: { delaySeconds?: number } = {}): Promise<{ kid: string; activatedAt: Date }> {
    const { publicKey, privateKey } = await generateKeyPair(SIGNING_ALG, { extractable: true, crv: "Ed25519" });
    const kid = randomToken(12);
    const now = this.clock.now();
    const activatedAt = addSeconds(now, opts.delaySeconds ?? this.timing.activationDelaySeconds);
    await this.SigningKey.deleteMany({ activatedAt: { $gt: now } });
    await this.SigningKey.create({
      _id: kid,
      alg: SIGNING_ALG,
      publicJwk: { ...(await exportJWK(publicKey)), kid, alg: SIGNING_ALG, use: "sig" },
      privateJwkSealed: encrypt(this.sealKey, JSON.stringify(await exportJWK(privateKey))),
      createdAt: now,
      activatedAt,
    });
    await this.reload();
    return { kid, activatedAt };
  }

  /** Creates the first key (signing at once) when the ring has none. */
  async ensure(): Promise<void> {
    await this.reload();
    if (this.keys.size === 0) await this.rotate({ delaySeconds: 0 });
  }

  private async unseal(sealed: string, kid: string): Promise<CryptoKey> {
    let jwk: JWK | null = null;
    for (const key of [this.sealKey, ...this.previousSealKeys]) {
      try {
        jwk = JSON.parse(decrypt(key, sealed)) as JWK;
        break;
      } catch {
        // try the next key
      }
    }
    if (!jwk) {
      throw new Error(`the private half of signing key ${kid} cannot be decrypted: SECRETS_ENCRYPTION_KEY differs from the one that sealed it`);
    }
    return (await importJWK(jwk, SIGNING_ALG)) as CryptoKey;
  }

  async reload(): Promise<void> {
    const now = this.clock.now();
    const horizon = addSeconds(now, -this.timing.retainSeconds);
    const docs = await this.SigningKey.find({ $or: [{ retiredAt: null }, { retiredAt: { $gt: horizon } }] })
      .select("+privateJwkSealed")
      .sort({ activatedAt: 1 })
      .lean();
    const next = new Map<string, LoadedKey>();
    for (const d of docs) {
      const key: LoadedKey = this.keys.get(d._id) ?? {
        kid: d._id,
        publicJwk: d.publicJwk as JWK,
        publicKey: (await importJWK(d.publicJwk as JWK, SIGNING_ALG)) as CryptoKey,
        activatedAt: d.activatedAt,
        retiredAt: null,
      };
      key.retiredAt = d.retiredAt ?? null;
      if (!key.retiredAt && !key.privateKey) key.privateKey = await this.unseal(d.privateJwkSealed, d._id);
      next.set(d._id, key);
    }
    this.keys = next;
    // A key retires when a newer one takes over; record it so every instance and the CLI agree.
    const ordered = [...next.values()];
    for (let i = 0; i + 1 < ordered.length; i++) {
      const [older, newer] = [ordered[i] as LoadedKey, ordered[i + 1] as LoadedKey];
      if (!older.retiredAt && newer.activatedAt <= now) {
        older.retiredAt = newer.activatedAt;
        await this.SigningKey.updateOne({ _id: older.kid, retiredAt: null }, { $set: { retiredAt: newer.activatedAt } });
      }
    }
  }

  /** The newest key whose activation time has come (checked per call, so switching needs no reload). */
  signingKey(): { kid: string; key: CryptoKey } {
    const now = this.clock.now();
    let signer: LoadedKey | null = null;
    for (const k of this.keys.values()) if (k.privateKey && k.activatedAt <= now && (!signer || k.activatedAt > signer.activatedAt)) signer = k;
    if (!signer?.privateKey) throw new Error("no active signing key");
    return { kid: signer.kid, key: signer.privateKey };
  }

  /** Public key for a kid; an unknown kid triggers at most one reload per second (new key elsewhere). */
  async verificationKey(kid: string | undefined): Promise<CryptoKey | null> {
    if (!kid) return null;
    let key = this.keys.get(kid);
    if (!key && Date.now() - this.lastUnknownKidReload > 1000) {
      this.lastUnknownKidReload = Date.now();
      await this.reload();
      key = this.keys.get(kid);
    }
    return key?.publicKey ?? null;
  }

  /** Published keys: pending, signing and retired-but-still-verifying. */
  jwks(): { keys: JWK[] } {
    return { keys: [...this.keys.values()].map((k) => k.publicJwk) };
  }

  /** For tools: each loaded key's state at this instant. */
  states(): Array<{ kid: string; activatedAt: Date; retiredAt: Date | null; state: "pending" | "signing" | "verifying" }> {
    const signer = this.keys.size ? this.signingKey().kid : null;
    const now = this.clock.now();
    return [...this.keys.values()].map((k) => ({
      kid: k.kid,
      activatedAt: k.activatedAt,
      retiredAt: k.retiredAt,
      state: k.kid === signer ? "signing" : k.activatedAt > now ? "pending" : "verifying",
    }));
  }
}
