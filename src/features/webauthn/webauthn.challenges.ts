// Ceremony challenges: 32 random bytes, stored only as their SHA-256, each for one purpose and
// (register, verify) bound to the user and session that asked. Spending one is a claim, so a
// replayed response (or two racing ones) gets exactly one success; an expired one is never found.
import type { Types } from "mongoose";
import type { Kernel } from "../../app.js";
import { addSeconds } from "../../core/clock.js";
import { randomBytes } from "node:crypto";
import { sha256 } from "../../core/crypto.js";
import { AppError } from "../../core/errors.js";
import type { WebAuthnChallengeData, WebAuthnPurpose, WebAuthnUsage } from "../../db/webauthn.models.js";
import { WEBAUTHN } from "./webauthn.errors.js";

export interface ChallengeBinding {
  userId: Types.ObjectId | null;
  sessionId: Types.ObjectId | null;
  name?: string | null;
  usage?: WebAuthnUsage | null;
}

export class Challenges {
  constructor(private readonly k: Kernel) {}

  /** `challenge` is base64url, as it comes back in clientDataJSON; `bytes` go into the options. */
  async issue(purpose: WebAuthnPurpose, ttlSeconds: number, bind: ChallengeBinding): Promise<{ challenge: string; bytes: Uint8Array<ArrayBuffer>; expiresAt: Date }> {
    const bytes = new Uint8Array(randomBytes(32));
    const challenge = Buffer.from(bytes).toString("base64url");
    const now = this.k.clock.now();
    const expiresAt = addSeconds(now, ttlSeconds);
    await this.k.models.WebAuthnChallenge.create({
      _id: sha256(challenge),
      purpose,
      userId: bind.userId,
      sessionId: bind.sessionId,
      name: bind.name ?? null,
      usage: bind.usage ?? null,
      createdAt: now,
      expiresAt,
    });
    return { challenge, bytes, expiresAt };
  }

  /**
   * Spends a challenge once. Unknown, expired, already spent, of another purpose or issued to
   * another session: all the same WEBAUTHN_EXPIRED, so nothing about other challenges leaks.
   */
  async spend(challenge: string, purpose: WebAuthnPurpose, owner?: { userId: string; sessionId: string }): Promise<WebAuthnChallengeData> {
    const id = sha256(challenge);
    const now = this.k.clock.now();
    const doc = await this.k.models.WebAuthnChallenge.findOne({ _id: id, purpose, expiresAt: { $gt: now } }).lean();
    const expired = () => new AppError(WEBAUTHN.WEBAUTHN_EXPIRED);
    if (!doc) throw expired();
    if (owner && (String(doc.userId) !== owner.userId || String(doc.sessionId) !== owner.sessionId)) throw expired();
    // The claim outlives the challenge document, so a spent challenge can never be found unspent.
    const ttl = Math.ceil((doc.expiresAt.getTime() - now.getTime()) / 1000) + 60;
    if (!(await this.k.claims.once(`wan:${id}`, ttl))) throw expired();
    await this.k.models.WebAuthnChallenge.deleteOne({ _id: id });
    return doc;
  }

  async sweep(): Promise<void> {
    await this.k.models.WebAuthnChallenge.deleteMany({ expiresAt: { $lt: this.k.clock.now() } });
  }
}
