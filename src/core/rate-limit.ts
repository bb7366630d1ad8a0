// Attempt limiter. Every call to consume() counts one attempt, so 100 aliased fields in one
// document count 100. Stores: the database (sliding window: one inserted hit per attempt, then a
// count, because FerretDB v1 loses concurrent $inc updates) or Redis (atomic INCR, fixed window).
import type { Model } from "mongoose";
import { Redis } from "ioredis";
import type { RateHitData } from "../db/kernel.models.js";
import { AppError, CORE } from "./errors.js";
import { addSeconds, type Clock } from "./clock.js";

export interface LimiterStore {
  /** Records one attempt per key and returns how many each key has in its window (this one included). */
  hit(keys: Array<{ key: string; windowSeconds: number }>): Promise<number[]>;
  reset(key: string): Promise<void>;
  /** Drops every key of one user (keys ending in `:user:<userId>`), for account deletion. */
  forgetUser(userId: string): Promise<void>;
  sweep(): Promise<void>;
  close(): Promise<void>;
}

/** User ids are ObjectId hex strings; anything else would be a pattern, so it is refused. */
const userIdPattern = (userId: string): string => {
  if (!/^[0-9a-f]{24}$/.test(userId)) throw new Error("not a user id");
  return userId;
};

export class DatabaseLimiterStore implements LimiterStore {
  constructor(private readonly RateHit: Model<RateHitData>, private readonly clock: Clock) {}
  /** One insert for all keys, then one count per key (in parallel). */
  async hit(keys: Array<{ key: string; windowSeconds: number }>): Promise<number[]> {
    const now = this.clock.now();
    await this.RateHit.collection.insertMany(keys.map(({ key, windowSeconds }) => ({ key, at: now, expiresAt: addSeconds(now, windowSeconds) })));
    return Promise.all(keys.map(({ key, windowSeconds }) => this.RateHit.countDocuments({ key, at: { $gt: addSeconds(now, -windowSeconds) } })));
  }
  async reset(key: string): Promise<void> {
    await this.RateHit.deleteMany({ key });
  }
  async forgetUser(userId: string): Promise<void> {
    await this.RateHit.deleteMany({ key: { $regex: `:user:${userIdPattern(userId)}$` } });
  }
  async sweep(): Promise<void> {
    await this.RateHit.deleteMany({ expiresAt: { $lt: this.clock.now() } });
  }
  async close(): Promise<void> {}
}

/**
 * Redis store. Commands wait (queued) while the connection is being made or remade, up to one
 * second; if Redis is down the attempt is refused with SERVICE_UNAVAILABLE (fail closed).
 */
export class RedisLimiterStore implements LimiterStore {
  private readonly redis: Redis;
  constructor(url: string, private readonly prefix: string) {
    this.redis = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: true, commandTimeout: 1000, connectTimeout: 1000 });
    this.redis.on("error", () => undefined); // surfaced per call as a rejected promise
  }
  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch {
      throw new AppError(CORE.SERVICE_UNAVAILABLE, { service: "rate-limiter" });
    }
  }
  hit(keys: Array<{ key: string; windowSeconds: number }>): Promise<number[]> {
    return this.call(async () => {
      const tx = this.redis.multi();
      for (const { key, windowSeconds } of keys) tx.incr(this.prefix + key).expire(this.prefix + key, windowSeconds, "NX");
      const res = (await tx.exec()) ?? [];
      return keys.map((_, i) => Number(res[i * 2]?.[1] ?? Number.MAX_SAFE_INTEGER));
    });
  }
  async reset(key: string): Promise<void> {
    await this.call(() => this.redis.del(this.prefix + key));
  }
  async forgetUser(userId: string): Promise<void> {
    const pattern = `${this.prefix.replace(/[*?[\]\\]/g, "\\$&")}*:user:${userIdPattern(userId)}`;
    await this.call(async () => {
      let cursor = "0";
      do {
        const [next, keys] = await this.redis.scan(cursor, "MATCH", pattern, "COUNT", 500);
        if (keys.length) await this.redis.del(...keys);
        cursor = next;
      } while (cursor !== "0");
    });
  }
  async sweep(): Promise<void> {}
  async close(): Promise<void> {
    this.redis.disconnect();
  }
}

export interface LimitRule {
  limit: number;
  windowSeconds: number;
}

export class RateLimiter {
  constructor(readonly store: LimiterStore) {}

  /**
   * Counts one attempt against every key; throws RATE_LIMITED if any is over its limit. Returns
   * each key's count (this attempt included).
   */
  async consume(...checks: Array<{ key: string; rule: LimitRule }>): Promise<number[]> {
    const counts = await this.store.hit(checks.map((c) => ({ key: c.key, windowSeconds: c.rule.windowSeconds })));
    const over = checks.find((c, i) => (counts[i] ?? 0) > c.rule.limit);
    if (over) throw new AppError(CORE.RATE_LIMITED, { retryAfterSeconds: over.rule.windowSeconds });
    return counts;
  }

  reset(key: string): Promise<void> {
    return this.store.reset(key);
  }
}
