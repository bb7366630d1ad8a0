// Creating users and changing what kills their sessions. Shared by registration, the CLI and
// account administration, so the identity rules live in one place.
import { Types, type Model, type UpdateQuery } from "mongoose";
import type { UserData } from "../db/user.model.js";
import type { IdentifierData } from "../db/kernel.models.js";
import { AppError, defineErrors, FIELD, InputCheck } from "./errors.js";
import { checkEmail, checkUsername, type IdentityLimits } from "./identity.js";
import { randomToken } from "./crypto.js";
import { isDuplicateKey } from "./db-errors.js";
import type { PasswordHasher } from "./passwords.js";
import type { SessionService } from "./sessions.js";
import type { Claims } from "./claims.js";
import type { LeanUser } from "./auth-state.js";

export const USERS = defineErrors({
  EMAIL_ALREADY_ASSOCIATED: "This email address is already associated with an account.",
  USERNAME_ALREADY_ASSOCIATED: "This username is already taken.",
  USER_DOES_NOT_EXIST: "No such user.",
});

export interface NewUserInput {
  email: string;
  password: string;
  username?: string | null;
  roles: string[];
  active?: boolean;
  confirmed?: boolean;
}

export type CreateUserOutcome = { created: LeanUser } | { existingEmail: LeanUser };

export class UserService {
  constructor(
    private readonly User: Model<UserData>,
    private readonly Identifier: Model<IdentifierData>,
    private readonly passwords: PasswordHasher,
    private readonly sessions: SessionService,
    private readonly claims: Claims,
    private readonly limits: IdentityLimits & { usernameEnabled: boolean },
  ) {}

  /** Validates everything first and throws every field error at once (BAD_USER_INPUT). */
  validateNew(input: Pick<NewUserInput, "email" | "password" | "username">) {
    const check = new InputCheck();
    const email = checkEmail(check, "email", input.email, this.limits);
    const password = this.passwords.check(check, "password", input.password);
    let username: ReturnType<typeof checkUsername> | null = null;
    if (input.username !== undefined && input.username !== null && input.username !== "") {
      if (!this.limits.usernameEnabled) check.add("username", FIELD.NOT_ALLOWED, "Usernames are not enabled.");
      else username = checkUsername(check, "username", input.username, this.limits);
    }
    check.throwIfAny();
    return { email, password, username };
  }

  findByEmailKey(emailKey: string): Promise<LeanUser | null> {
    return this.User.findOne({ emailKey }).lean();
  }

  /**
   * Creates a user, or reports that the email exists (the caller decides what the client sees).
   * Always spends one bcrypt hash, so both outcomes take the same time.
   */
  async create(input: NewUserInput): Promise<CreateUserOutcome> {
    const { email, password, username } = this.validateNew(input);
    const passwordHash = await this.passwords.hash(password);
    const existing = await this.findByEmailKey(email.emailKey);
    if (existing) {
      // One write on this path too, so a new and an existing address cost the same (the insert of
      // a new user is otherwise a measurable difference). It also records the attempt.
      await this.claims.once(`register-existing:${String(existing._id)}:${randomToken(9)}`, 86_400);
      return { existingEmail: existing };
    }
    const _id = new Types.ObjectId();
    if (username) await this.claimUsername(username.usernameKey, _id);
    try {
      const doc = await this.User.create({
        _id,
        email: email.email,
        emailKey: email.emailKey,
        username: username?.username ?? null,
        usernameKey: username?.usernameKey ?? null,
        passwordHash,
        active: input.active ?? true,
        confirmedAt: input.confirmed ? new Date() : null,
        uniquifier: randomToken(),
        roles: [...new Set(input.roles)],
      });
      const { passwordHash: _omit, ...lean } = doc.toObject();
      return { created: lean };
    } catch (err) {
      if (username) await this.Identifier.deleteOne({ _id: `username:${username.usernameKey}`, userId: _id });
      if (isDuplicateKey(err)) {
        const raced = await this.findByEmailKey(email.emailKey);
        if (raced) return { existingEmail: raced };
      }
      throw err;
    }
  }

  private async claimUsername(key: string, userId: Types.ObjectId): Promise<void> {
    try {
      await this.Identifier.create({ _id: `username:${key}`, userId });
    } catch (err) {
      if (isDuplicateKey(err)) {
        throw new AppError(USERS.USERNAME_ALREADY_ASSOCIATED, { fieldErrors: [{ field: "username", ...USERS.USERNAME_ALREADY_ASSOCIATED }] });
      }
      throw err;
    }
  }

  /** The user, or null for an unknown or malformed id. */
  findById(id: string): Promise<LeanUser | null> {
    return Types.ObjectId.isValid(id) ? this.User.findById(id).lean() : Promise.resolve(null);
  }


  /**
   * Updates one user and returns it. Not findOneAndUpdate: FerretDB v1 refuses findAndModify with
   * a projection (passwordHash is select: false) and would not make it atomic anyway.
   */
  async update(userId: Types.ObjectId | string, update: UpdateQuery<UserData>): Promise<LeanUser> {
    if (!Types.ObjectId.isValid(String(userId))) throw new AppError(USERS.USER_DOES_NOT_EXIST);
    const res = await this.User.updateOne({ _id: userId }, update);
    const user = res.matchedCount ? await this.User.findById(userId).lean() : null;
    if (!user) throw new AppError(USERS.USER_DOES_NOT_EXIST);
    return user;
  }

  /** New uniquifier: every session and token of the user is dead on its next use. */
  async rotateUniquifier(userId: Types.ObjectId | string, extra: Partial<UserData> = {}): Promise<LeanUser> {
    const user = await this.update(userId, { $set: { ...extra, uniquifier: randomToken() } });
    await this.sessions.revokeAllOf(userId, "uniquifier_rotated");
    return user;
  }

  async setPassword(userId: Types.ObjectId | string, password: string): Promise<LeanUser> {
    const check = new InputCheck();
    const normalized = this.passwords.check(check, "password", password);
    check.throwIfAny();
    return this.rotateUniquifier(userId, { passwordHash: await this.passwords.hash(normalized) });
  }

  async setActive(userId: Types.ObjectId | string, active: boolean): Promise<LeanUser> {
    const user = await this.update(userId, { $set: { active } });
    if (!active) await this.sessions.revokeAllOf(userId, "deactivated");
    return user;
  }
}
