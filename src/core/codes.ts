// One-time numeric codes (mail and SMS). A code is random (crypto), stored only as an HMAC keyed by
// a server secret and bound to user, purpose and context, lives a few minutes, and is accepted
// exactly once (a claim). A newer code of the same purpose and context replaces the older one.
// Guessing is bounded by the callers' attempt limits (flows, unified sign-in), not here.
import { randomInt } from "node:crypto";
import { randomToken, hmac, safeEqual } from "./crypto.js";
import { Types, type Model } from "mongoose";
import type { OneTimeCodeData } from "../db/one-time-code.model.js";
import type { Claims } from "./claims.js";
import { addSeconds, secondsBetween, type Clock } from "./clock.js";

/** Digits only, the configured length; anything else never reaches a lookup. */
export const isCodeShaped = (code: string, length: number): boolean => typeof code === "string" && code.length === length && /^[0-9]+$/.test(code);

export class OneTimeCodes {
  constructor(
    private readonly Code: Model<OneTimeCodeData>,
    private readonly claims: Claims,
    private readonly clock: Clock,
    private readonly key: string,
    private readonly length: number,
  ) {}

  private hash(userId: Types.ObjectId, purpose: string, context: string, code: string): string {
    return hmac(this.key, `${String(userId)}|${purpose}|${context}|${code}`);
  }

  async issue(userId: Types.ObjectId, purpose: string, context: string, ttlSeconds: number): Promise<string> {
    const code = String(randomInt(0, 10 ** this.length)).padStart(this.length, "0");
    const now = this.clock.now();
    await this.Code.deleteMany({ userId, purpose, context });
    await this.Code.create({ _id: randomToken(16), userId, purpose, context, codeHash: this.hash(userId, purpose, context, code), createdAt: now, expiresAt: addSeconds(now, ttlSeconds) });
    return code;
  }

  /** True once for the live code; false for a wrong, expired, replaced or already used one. */
  async verify(userId: Types.ObjectId, purpose: string, context: string, code: string): Promise<boolean> {
    if (!isCodeShaped(code, this.length)) return false;
    const now = this.clock.now();
    const docs = await this.Code.find({ userId, purpose, context, expiresAt: { $gt: now } }).lean();
    const want = this.hash(userId, purpose, context, code);
    const doc = docs.find((d) => safeEqual(d.codeHash, want));
    if (!doc) return false;
    const won = await this.claims.once(`code:${doc._id}`, Math.max(secondsBetween(now, doc.expiresAt), 0) + 60);
    await this.Code.deleteOne({ _id: doc._id });
    return won;
  }

  /** The database work of `issue` and `verify` without a usable code (answers for unknown identities). */
  async decoy(): Promise<void> {
    await this.Code.deleteMany({ userId: new Types.ObjectId(), purpose: "decoy" });
    await this.claims.once(`code-decoy:${randomToken(12)}`, 60);
  }

  async sweep(): Promise<void> {
    await this.Code.deleteMany({ expiresAt: { $lt: this.clock.now() } });
  }
}
