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
  private signer: LoadedKey | null = null;
  private lastUnknownKidReload = 0;
  private readonly sealKey: Buffer;

  constructor(
    private readonly SigningKey: Model<SigningKeyData>,
    encryptionSecret: string,
    /** How long a retired key stays published: token lifetime + key refresh interval + margin. */
    private readonly retainSeconds: number,
    private readonly clock: Clock,
  ) {
    this.sealKey = deriveKey(encryptionSecret, "signing-keys");
  }

  /** Adds a new key that signs from now on; the previous signer retires (verifies only). */
  async rotate(): Promise<string> {
    const { publicKey, privateKey } = await generateKeyPair(SIGNING_ALG, { extractable: true, crv: "Ed25519" });
    const kid = randomToken(12);
    const now = this.clock.now();
    await this.SigningKey.create({
      _id: kid,
      alg: SIGNING_ALG,
      publicJwk: { ...(await exportJWK(publicKey)), kid, alg: SIGNING_ALG, use: "sig" },
      privateJwkSealed: encrypt(this.sealKey, JSON.stringify(await exportJWK(privateKey))),
      createdAt: now,
      activatedAt: now,
    });
    await this.SigningKey.updateMany({ _id: { $ne: kid }, retiredAt: null }, { $set: { retiredAt: now } });
    await this.reload();
    return kid;
  }

  /** Creates the first key when the ring is empty. */
  async ensure(): Promise<void> {
    await this.reload();
    if (!this.signer) await this.rotate();
  }

  async reload(): Promise<void> {
    const now = this.clock.now();
    const horizon = addSeconds(now, -this.retainSeconds);
    const docs = await this.SigningKey.find({ $or: [{ retiredAt: null }, { retiredAt: { $gt: horizon } }] })
      .select("+privateJwkSealed")
      .lean();
    const next = new Map<string, LoadedKey>();
    for (const d of docs) {
      const known = this.keys.get(d._id);
      const key: LoadedKey = known ?? {
        kid: d._id,
        publicJwk: d.publicJwk as JWK,
        publicKey: (await importJWK(d.publicJwk as JWK, SIGNING_ALG)) as CryptoKey,
        activatedAt: d.activatedAt,
        retiredAt: d.retiredAt ?? null,
      };
      key.retiredAt = d.retiredAt ?? null;
      if (!key.retiredAt && !key.privateKey) {
        key.privateKey = (await importJWK(JSON.parse(decrypt(this.sealKey, d.privateJwkSealed)) as JWK, SIGNING_ALG)) as CryptoKey;
      }
      next.set(d._id, key);
    }
    this.keys = next;
    this.signer = [...next.values()].filter((k) => !k.retiredAt && k.privateKey).sort((a, b) => +b.activatedAt - +a.activatedAt)[0] ?? null;
  }

  signingKey(): { kid: string; key: CryptoKey } {
    if (!this.signer?.privateKey) throw new Error("no active signing key");
    return { kid: this.signer.kid, key: this.signer.privateKey };
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

  jwks(): { keys: JWK[] } {
    return { keys: [...this.keys.values()].map((k) => k.publicJwk) };
  }
}
