import type { Kernel } from "../../app.js";
import { FIELD, InputCheck } from "../../core/errors.js";
import { normalizeEmail } from "../../core/identity.js";
import type { LeanUser } from "../../core/auth-state.js";

export class AccountService {
  constructor(private readonly k: Kernel) {}

  async lookup(input: { id?: string | null; email?: string | null }): Promise<LeanUser | null> {
    if (!input.id === !input.email) new InputCheck().add("id", FIELD.EXACTLY_ONE, "Give exactly one of id and email.").throwIfAny();
    if (input.id) return this.k.users.findById(input.id);
    const email = input.email as string;
    if (email.length > this.k.config.identity.emailMaxLength) return null;
    return this.k.users.findByEmailKey(normalizeEmail(email).emailKey);
  }

  /** A deactivated user's sessions are revoked, so the very next request is refused. */
  async setActive(userId: string, active: boolean, by: string): Promise<LeanUser> {
    const user = await this.k.users.setActive(userId, active);
    this.k.events.emit(active ? "user.activated" : "user.deactivated", { userId, by });
    return user;
  }

  /**
   * Flask-Security's reset_user_access, for a compromised account: every session, token and
   * remembered device dies at once (the uniquifier rotates), and every credential other than the
   * password goes: second factors and recovery codes, passkeys, sign-in flows and codes in flight.
   * The owner signs in with the password again (and sets a second factor up again where required).
   */
  async resetAccess(userId: string, by: string): Promise<LeanUser> {
    const user = await this.k.users.rotateUniquifier(userId);
    await this.k.userData.resetCredentials(user._id);
    this.k.events.emit("user.accessReset", { userId, by });
    return user;
  }

  async changePassword(userId: string, password: string, by: string): Promise<LeanUser> {
    const user = await this.k.users.setPassword(userId, password);
    this.k.events.emit("password.changed", { userId, by });
    return user;
  }
}
