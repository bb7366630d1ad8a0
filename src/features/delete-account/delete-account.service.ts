// Deleting one's own account: a fresh session (declared in the SDL), the current password (unless
// deleteAccount.requirePassword is off or the account has none), then the kernel's user-data
// registry removes the user and everything any feature registered as theirs (user-data.ts). The
// old address gets a notice. Operators delete through the CLI with the same code.
import type { Kernel } from "../../app.js";
import { AppError, CORE, FIELD, InputCheck } from "../../core/errors.js";
import type { CookieJar } from "../../core/cookies.js";
import type { LeanUser } from "../../core/auth-state.js";
import type { Viewer } from "../../core/viewer.js";
import { USERS } from "../../core/users.js";
import { AUTH } from "../auth/auth.errors.js";
import { accountDeletedMail } from "./delete-account.templates.js";
import { reverifyBudget } from "../../core/sign-in.js";

export interface AccountDeleted {
  deleted: true;
  message: string;
}

const DELETED: AccountDeleted = { deleted: true, message: "Your account and everything it held were deleted. A notice is on its way to its email address." };

export class DeleteAccountService {
  constructor(private readonly k: Kernel) {}

  async deleteOwn(viewer: Viewer, input: { password?: string | null }, cookies: CookieJar): Promise<AccountDeleted> {
    await this.checkPassword(viewer, input.password ?? null);
    const user = await this.k.userData.deleteUser(viewer.userId).catch((err: unknown) => {
      // Deleted by a parallel call since this request was authenticated: its session is dead.
      if ((err as AppError).spec === USERS.USER_DOES_NOT_EXIST) throw new AppError(CORE.UNAUTHENTICATED, { reason: "unknown" });
      throw err;
    });
    cookies.clearSession();
    this.k.events.emit("user.deleted", { userId: viewer.userId, by: viewer.userId });
    this.k.mailer.sendLater(accountDeletedMail, user, this.noticeParams(false));
    return DELETED;
  }

  /**
   * For operators (CLI, deleteUser): no password, and a deletion that died half-way may be run
   * again. The CLI waits for the notice (it closes the mailer when it returns); the API does not.
   */
  async deleteByOperator(userId: string, by: string, opts: { waitForMail: boolean }): Promise<LeanUser> {
    const user = await this.k.userData.deleteUser(userId, { force: true });
    this.k.events.emit("user.deleted", { userId, by });
    if (opts.waitForMail) await this.notify(user);
    else this.k.mailer.sendLater(accountDeletedMail, user, this.noticeParams(true));
    return user;
  }

  private noticeParams(byOperator: boolean): { deletedAt: string; byOperator: boolean } {
    return { deletedAt: this.k.clock.now().toISOString().replace(/\.\d+Z$/, "Z"), byOperator };
  }

  /** Counted like verifyPassword (per user, the sign-in limit), so it is no password oracle. */
  private async checkPassword(viewer: Viewer, password: string | null): Promise<void> {
    const user = await this.k.models.User.findById(viewer.user._id).select("+passwordHash").lean();
    // Gone since this request was authenticated (e.g. a second aliased deleteAccount).
    if (!user) throw new AppError(CORE.UNAUTHENTICATED, { reason: "unknown" });
    if (!this.k.config.deleteAccount.requirePassword || !user.passwordHash) return; // freshness alone
    const check = new InputCheck();
    if (!password) check.add("password", FIELD.REQUIRED);
    else if (password.length > this.k.config.passwords.maxLength * 4) check.add("password", FIELD.TOO_LONG);
    check.throwIfAny();
    await this.k.limiter.consume(reverifyBudget(viewer.userId, this.k.config.rateLimit));
    if (!(await this.k.passwords.verify(password as string, user.passwordHash))) throw new AppError(AUTH.INVALID_PASSWORD);
  }

  /** The operator's notice, awaited. Never throws: the account is gone either way; a failure is logged. */
  private async notify(user: LeanUser): Promise<void> {
    try {
      await this.k.mailer.sendTemplate(accountDeletedMail, user.email, this.noticeParams(true));
    } catch (err) {
      const e = err as { extensions?: { code?: unknown }; message?: string };
      this.k.log.warn({ purpose: accountDeletedMail.purpose, userId: String(user._id), code: e.extensions?.code ?? e.message }, "mail not sent");
    }
  }
}
