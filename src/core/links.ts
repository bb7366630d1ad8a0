// Single-use links by mail, shared by every feature that sends one (confirmation now; recovery,
// change email and magic links later). A token is 32 random bytes (base64url); only its SHA-256 is
// stored, bound to a purpose, to the user's uniquifier and emailKey at issue time (a password reset,
// an access reset or an email change kills every older link) and to an expiry. A newer link of
// the same purpose replaces the older ones. Using a link is "exactly once" through a claim (an
// insert on a unique key: the only atomic primitive on FerretDB v1), then its document is deleted.
import { Types, type Model } from "mongoose";
import type { LinkTokenData } from "../db/link-token.model.js";
import type { UserData } from "../db/user.model.js";
import type { LeanUser } from "./auth-state.js";
import type { Claims } from "./claims.js";
import { addSeconds, secondsBetween, type Clock } from "./clock.js";
import { randomToken, sha256 } from "./crypto.js";
import { checkUrl } from "./mail/templates.js";

export type LinkFailure = "invalid" | "expired";
/** `data`: what the link was issued with (`issue`'s optional `data`), or null. */
export type LinkConsumeResult = { ok: true; user: LeanUser; data: string | null } | { ok: false; reason: LinkFailure };

/** 32 bytes in base64url, nothing else: anything longer or stranger is refused before any lookup. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

export class LinkTokens {
  constructor(
    private readonly LinkToken: Model<LinkTokenData>,
    private readonly User: Model<UserData>,
    private readonly claims: Claims,
    private readonly clock: Clock,
    private readonly publicUrl: string,
  ) {}

  /**
   * Issues a new link token for `user` and deletes the user's older tokens of the same purpose.
   * `data` is stored in clear with it (not for secrets) and handed back by `consume`.
   */
  async issue(purpose: string, user: Pick<LeanUser, "_id" | "uniquifier" | "emailKey">, ttlSeconds: number, data?: string): Promise<string> {
    const token = randomToken(32);
    const now = this.clock.now();
    await this.LinkToken.deleteMany({ userId: user._id, purpose });
    await this.LinkToken.create({
      _id: sha256(token),
      purpose,
      userId: user._id,
      uniquifier: user.uniquifier,
      emailKey: user.emailKey,
      data: data ?? null,
      createdAt: now,
      expiresAt: addSeconds(now, ttlSeconds),
    });
    return token;
  }

  /**
   * The same database work as `issue` without creating a usable link: callers that must answer
   * an unknown address like a known one spend this instead. With `userId`, that user's links of
   * this purpose are deleted as `issue` would (so older links die either way).
   */
  async decoy(purpose: string, userId?: Types.ObjectId): Promise<void> {
    await this.LinkToken.deleteMany({ userId: userId ?? new Types.ObjectId(), purpose });
    await this.claims.once(`link-decoy:${randomToken(12)}`, 60);
  }

  /** The user the token was issued for, once; or why not. */
  async consume(purpose: string, token: string): Promise<LinkConsumeResult> {
    if (typeof token !== "string" || !TOKEN_SHAPE.test(token)) return { ok: false, reason: "invalid" };
    const hash = sha256(token);
    const doc = await this.LinkToken.findOne({ _id: hash, purpose }).lean();
    if (!doc) return { ok: false, reason: "invalid" };
    const now = this.clock.now();
    if (doc.expiresAt.getTime() <= now.getTime()) {
      await this.LinkToken.deleteOne({ _id: hash });
      return { ok: false, reason: "expired" };
    }
    const user = await this.User.findById(doc.userId).lean();
    if (!user || user.uniquifier !== doc.uniquifier || user.emailKey !== doc.emailKey) {
      await this.LinkToken.deleteOne({ _id: hash });
      return { ok: false, reason: "invalid" };
    }
    // The claim outlives the token (it is swept after expiresAt), so no second use can win it.
    const won = await this.claims.once(`link:${hash}`, Math.max(secondsBetween(now, doc.expiresAt), 0) + 60);
    if (!won) return { ok: false, reason: "invalid" };
    await this.LinkToken.deleteOne({ _id: hash });
    return { ok: true, user, data: doc.data ?? null };
  }

  /**
   * `${publicUrl}/${path}#token=…`: from config only, never from a request. The token is in the
   * fragment, which browsers never send (no server log, no Referer); the page posts it.
   */
  url(path: string, token: string): string {
    const base = this.publicUrl.replace(/\/+$/, "");
    return checkUrl(`${base}/${path.replace(/^\/+/, "")}#token=${token}`);
  }

  async sweep(): Promise<void> {
    await this.LinkToken.deleteMany({ expiresAt: { $lt: this.clock.now() } });
  }
}
