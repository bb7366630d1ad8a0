// Everything a user owns, and deleting all of it. Every owner of per-user data (the kernel's own
// collections here, each feature in its service's constructor) registers a purger; account deletion
// calls every one of them, so a feature added later cannot be forgotten by the delete flow. Kernel
// models with a `userId` path are registered automatically (sessions, link tokens, identifiers,
// sign-in flows, one-time codes, passkeys, …), as are those keyed by the user's id
// (KEYED_BY_USER_ID: second factors); features with models of their own register them.
//
// Order of a deletion, chosen for FerretDB v1 (no transactions, updates not isolated):
//   1. a marker claim `user-deletion:<id>` (one deletion at a time; writers check it, see isGone)
//   2. deactivate + rotate the uniquifier + revoke every session, published to every process
//   3. every purger (in parallel; all are attempted, any failure stops before step 4)
//   4. the user document last: its unique emailKey frees the address only when the rest is gone
//   5. publish again, drop the marker
// A crash between 2 and 4 leaves an inactive user that nobody can sign in to; running the deletion
// again (the CLI's `users delete`) finishes it, because every purger is idempotent.
import type { Model, Types } from "mongoose";
import type { UserData } from "../db/user.model.js";
import type { ClaimData } from "../db/kernel.models.js";
import type { Models } from "../db/models.js";
import type { AuthStateStore, LeanUser } from "./auth-state.js";
import type { Claims } from "./claims.js";
import type { UserService } from "./users.js";
import type { RateLimiter } from "./rate-limit.js";
import type { Logger } from "./logger.js";
import { AppError, CORE, defineErrors } from "./errors.js";
import { USERS } from "./users.js";

export const USER_DATA = defineErrors({
  ACCOUNT_DELETION_IN_PROGRESS: "This account is already being deleted.",
});

/** Deletes (or anonymises) everything `owner` keeps about one user. Must be idempotent. */
export type UserDataPurger = (userId: Types.ObjectId) => Promise<void>;

/** How long the deletion marker lives if a deletion dies half-way (a retry with `force` ignores it). */
const MARKER_TTL_SECONDS = 3_600;
const markerOf = (userId: string) => `user-deletion:${userId}`;

export class UserDataRegistry {
  private readonly purgers = new Map<string, UserDataPurger>();
  private readonly credentialPurgers = new Map<string, UserDataPurger>();

  constructor(
    private readonly deps: {
      User: Model<UserData>;
      Claim: Model<ClaimData>;
      users: UserService;
      claims: Claims;
      authState: AuthStateStore;
      log: Logger;
    },
  ) {}

  /** One purger per owner name; a name registered twice fails at start. */
  register(owner: string, purge: UserDataPurger): void {
    if (this.purgers.has(owner)) throw new Error(`user data owner "${owner}" is registered twice`);
    this.purgers.set(owner, purge);
  }

  owners(): string[] {
    return [...this.purgers.keys()];
  }

  /**
   * A way to sign in or to pass a second factor, other than the password (second factors,
   * passkeys, flows and codes in flight): removed by an access reset of a compromised account
   * (resetCredentials). Account deletion removes them through the purgers as all other data.
   */
  registerCredentials(owner: string, purge: UserDataPurger): void {
    if (this.credentialPurgers.has(owner)) throw new Error(`credential owner "${owner}" is registered twice`);
    this.credentialPurgers.set(owner, purge);
  }

  /** Removes every registered credential of the user (all attempted; the first failure is thrown). */
  async resetCredentials(userId: Types.ObjectId): Promise<void> {
    const results = await Promise.allSettled([...this.credentialPurgers.values()].map((purge) => purge(userId)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
  }

  /**
   * True once the user's deletion has begun or the user is gone. A writer of user-owned data that
   * could race a deletion (an upsert by a request that passed authentication just before it) checks
   * this after writing and removes what it wrote: between the marker (step 1) and the user's
   * removal (step 4) the marker exists, and afterwards the user does not.
   */
  async isGone(userId: Types.ObjectId | string): Promise<boolean> {
    const [marker, user] = await Promise.all([this.deps.Claim.exists({ _id: markerOf(String(userId)) }), this.deps.User.exists({ _id: userId })]);
    return Boolean(marker) || !user;
  }

  /**
   * Deletes the user and everything registered as theirs; returns the user as it was (for the
   * notice mail). `force` ignores a marker left by a deletion that died half-way (operators only).
   */
  async deleteUser(userId: string, opts: { force?: boolean } = {}): Promise<LeanUser> {
    const { User, Claim, users, claims, authState, log } = this.deps;
    const before = await users.findById(userId);
    if (!before) throw new AppError(USERS.USER_DOES_NOT_EXIST);
    const marker = markerOf(userId);
    const mine = await claims.once(marker, MARKER_TTL_SECONDS);
    if (!mine && !opts.force) throw new AppError(USER_DATA.ACCOUNT_DELETION_IN_PROGRESS);
    try {
      // Every session and token dies here, in this process at once and in others through the feed.
      await users.rotateUniquifier(before._id, { active: false });
    } catch (err) {
      // Nothing is purged yet (e.g. another deletion finished in between: USER_DOES_NOT_EXIST).
      if (mine) await Claim.deleteOne({ _id: marker });
      throw err;
    }
    const owners = [...this.purgers.entries()];
    const results = await Promise.allSettled(owners.map(([, purge]) => purge(before._id)));
    const failed = owners.filter((_, i) => results[i]?.status === "rejected").map(([owner]) => owner);
    if (failed.length) {
      for (const [i, r] of results.entries()) {
        if (r.status === "rejected") log.error({ owner: owners[i]?.[0], userId, err: (r.reason as Error)?.message }, "user data purge failed");
      }
      // The user stays deactivated and marked; `gql-auth users delete` (force) finishes it.
      throw new AppError(CORE.INTERNAL_SERVER_ERROR);
    }
    await User.deleteOne({ _id: before._id });
    await authState.publish("user", userId);
    await Claim.deleteOne({ _id: marker });
    return before;
  }
}

/** Escapes nothing: ObjectId hex strings have no regex metacharacters; checked to be sure. */
const hexId = (id: Types.ObjectId): string => {
  const s = String(id);
  if (!/^[0-9a-f]{24}$/.test(s)) throw new Error("not an ObjectId");
  return s;
};

/** Kernel models whose `_id` is the user's id (one document per user, e.g. second factors). */
export const KEYED_BY_USER_ID: readonly string[] = ["SecondFactor", "LoginTracking"];
/**
 * Kernel models that hold no per-user data, or are handled by a purger of their own (the user
 * document itself is removed last by deleteUser). A test fails when a model is in none of the
 * lists and has no `userId` path, so a new kernel model must be classified.
 */
export const NOT_PER_USER: readonly string[] = ["User", "Role", "Claim", "RateHit", "Revocation", "SigningKey"];

/**
 * The kernel's own per-user data: sessions (and the refresh-token claims of each), every kernel
 * model with a `userId` path or keyed by the user's id, claims whose key names the user, and the
 * limiter's per-user keys. The revocation feed is deliberately left alone: its entries (user and
 * session ids) are how other processes learn that the tokens died, and they are swept after an hour.
 */
export function registerKernelUserData(registry: UserDataRegistry, models: Models, limiter: RateLimiter): void {
  registry.register("sessions", async (userId) => {
    const sids = (await models.Session.find({ userId }).select("_id").lean()).map((s) => hexId(s._id));
    for (let i = 0; i < sids.length; i += 100) {
      await models.Claim.deleteMany({ _id: { $regex: `^refresh:(${sids.slice(i, i + 100).join("|")}):` } });
    }
    await models.Session.deleteMany({ userId });
  });
  // Models differ in their document types; only the schema and deleteMany are used here.
  for (const [name, model] of Object.entries(models) as Array<[string, Model<unknown>]>) {
    if (name === "Session" || NOT_PER_USER.includes(name)) continue;
    if (model.schema.path("userId")) {
      registry.register(`collection:${model.collection.collectionName}`, async (userId) => {
        await model.deleteMany({ userId } as never);
      });
    } else if (KEYED_BY_USER_ID.includes(name)) {
      registry.register(`collection:${model.collection.collectionName}`, async (userId) => {
        await model.deleteOne({ _id: userId } as never);
      });
    }
  }
  registry.register("claims", async (userId) => {
    const id = hexId(userId);
    // Claims keyed by the user (register-existing:<id>:…, change-username:lock:<id>, …), except the
    // deletion's own marker, which must outlive the user document.
    await models.Claim.deleteMany({ $and: [{ _id: { $regex: `(^|:)${id}(:|$)` } }, { _id: { $ne: markerOf(id) } }] });
  });
  registry.register("rate-limit", (userId) => limiter.store.forgetUser(hexId(userId)));
  // Sign-ins in flight and the codes sent for them are credentials too (an access reset ends them).
  registry.registerCredentials("sign-in-flows", async (userId) => void (await models.SignInFlow.deleteMany({ userId })));
  registry.registerCredentials("one-time-codes", async (userId) => void (await models.OneTimeCode.deleteMany({ userId })));
}
