// Change username (Flask-Security's change username): the registration rules (checkUsername), and
// uniqueness through the identifiers collection, because an insert on a unique key is the only
// atomic primitive on FerretDB v1: claim "username:<new key>" first, then update the user, then
// release the old claim; if the update fails, release the new claim. Changes of one user are
// serialised by a short claim, so two parallel changes cannot leave a claim nobody holds.
import type { Types } from "mongoose";
import type { Kernel } from "../../app.js";
import { AppError, InputCheck } from "../../core/errors.js";
import { isDuplicateKey } from "../../core/db-errors.js";
import { checkUsername } from "../../core/identity.js";
import { USERS } from "../../core/users.js";
import type { LeanUser } from "../../core/auth-state.js";
import type { Viewer } from "../../core/viewer.js";
import { CHANGE_USERNAME } from "./change-username.errors.js";
import { usernameChangedMail } from "./change-username.templates.js";

const LOCK_SECONDS = 30;
const claimId = (key: string) => `username:${key}`;

export class ChangeUsernameService {
  constructor(private readonly k: Kernel) {}

  async change(viewer: Viewer, input: { username: string }): Promise<{ user: LeanUser }> {
    const check = new InputCheck();
    const next = checkUsername(check, "username", input.username, this.k.config.identity);
    check.throwIfAny();
    const lock = `change-username:lock:${viewer.userId}`;
    if (!(await this.k.claims.once(lock, LOCK_SECONDS))) throw new AppError(CHANGE_USERNAME.USERNAME_CHANGE_IN_PROGRESS);
    let before: LeanUser;
    let user: LeanUser;
    try {
      const current = await this.k.users.findById(viewer.userId);
      if (!current) throw new AppError(USERS.USER_DOES_NOT_EXIST);
      if (current.username === next.username) check.add("username", CHANGE_USERNAME.USERNAME_IS_THE_SAME).throwIfAny();
      before = current;
      user = await this.swap(current, next);
    } finally {
      await this.k.models.Claim.deleteOne({ _id: lock });
    }
    await this.k.authState.publish("user", viewer.userId);
    this.k.events.emit("username.changed", { userId: viewer.userId });
    this.notify(user, before.username ?? null);
    return { user };
  }

  /** Claim the new key, update the user, release the old key (a case-only change keeps its claim). */
  private async swap(current: LeanUser, next: { username: string; usernameKey: string }): Promise<LeanUser> {
    const oldKey = current.usernameKey ?? null;
    const newClaim = oldKey !== next.usernameKey;
    if (newClaim) await this.claim(next.usernameKey, current._id);
    let user: LeanUser;
    try {
      user = await this.k.users.update(current._id, { $set: { username: next.username, usernameKey: next.usernameKey } });
    } catch (err) {
      if (newClaim) await this.k.models.Identifier.deleteOne({ _id: claimId(next.usernameKey), userId: current._id });
      throw err;
    }
    if (newClaim && oldKey) await this.k.models.Identifier.deleteOne({ _id: claimId(oldKey), userId: current._id });
    return user;
  }

  private async claim(key: string, userId: Types.ObjectId): Promise<void> {
    try {
      await this.k.models.Identifier.create({ _id: claimId(key), userId });
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      // A claim this user already holds (left by a change that failed half-way) is theirs to use.
      const holder = await this.k.models.Identifier.findById(claimId(key)).lean();
      if (holder?.userId.equals(userId)) return;
      throw new AppError(USERS.USERNAME_ALREADY_ASSOCIATED, { fieldErrors: [{ field: "username", ...USERS.USERNAME_ALREADY_ASSOCIATED }] });
    }
  }

  private notify(user: LeanUser, previous: string | null): void {
    void Promise.resolve()
      .then(() => this.k.mailer.sendTemplate(usernameChangedMail, user.email, { username: user.username ?? "", previous }))
      .catch((err: unknown) => {
        const e = err as { extensions?: { code?: unknown }; message?: string };
        this.k.log.warn({ purpose: usernameChangedMail.purpose, userId: String(user._id), code: e.extensions?.code ?? e.message }, "mail not sent");
      });
  }
}
