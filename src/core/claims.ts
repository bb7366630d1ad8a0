// "Exactly once" as an insert on a unique _id: atomic on MongoDB and on FerretDB v1 alike.
import type { Model } from "mongoose";
import type { ClaimData } from "../db/kernel.models.js";
import { addSeconds, type Clock } from "./clock.js";
import { isDuplicateKey } from "./db-errors.js";

export class Claims {
  constructor(private readonly Claim: Model<ClaimData>, private readonly clock: Clock) {}

  /** True for exactly one caller per key until the claim expires and is swept. */
  async once(key: string, ttlSeconds: number): Promise<boolean> {
    const now = this.clock.now();
    try {
      await this.Claim.create({ _id: key, createdAt: now, expiresAt: addSeconds(now, ttlSeconds) });
      return true;
    } catch (err) {
      if (isDuplicateKey(err)) return false;
      throw err;
    }
  }

  /** Gives a claim back (the work it guarded failed and may be tried again). */
  async release(key: string): Promise<void> {
    await this.Claim.deleteOne({ _id: key });
  }

  async sweep(): Promise<void> {
    await this.Claim.deleteMany({ expiresAt: { $lt: this.clock.now() } });
  }
}
