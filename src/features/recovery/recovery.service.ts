// Password recovery (Flask-Security's recoverable) and username recovery, on the link-token core.
// Both requests answer the same MailAccepted, after the same database work, whether or not the
// address belongs to an account; mail goes out in the background, so neither a slow SMTP server
// nor the existence of the account shows in the answer or its timing. Both share one budget per
// address and per client (no mail bombing through either).
import type { Kernel } from "../../app.js";
import { AppError, FIELD, InputCheck } from "../../core/errors.js";
import { findForMail } from "../../core/mail-requests.js";
import type { LeanUser } from "../../core/auth-state.js";
import type { RequestInfo } from "../auth/auth.service.js";
import { AUTH } from "../auth/auth.errors.js";
import type { MailAcceptedResult } from "../../core/sign-in.js";
import { RECOVERY } from "./recovery.errors.js";
import { passwordResetNoticeMail, recoverUsernameMail, resetPasswordMail } from "./recovery.templates.js";

export const RESET_PURPOSE = "reset-password";
/** Path of the client page that reads the token from the fragment and calls resetPassword. */
export const RESET_PATH = "reset-password";

export interface ResetPasswordResult {
  reset: true;
  message: string;
}

const RESET_SENT: MailAcceptedResult = {
  accepted: true,
  message: "If this address has an account, a password reset link is on its way to it.",
};

const USERNAME_SENT: MailAcceptedResult = {
  accepted: true,
  message: "If this address has an account with a username, the username is on its way to it.",
};

const RESET_DONE: ResetPasswordResult = {
  reset: true,
  message: "Your password has been reset. Sign in with your new password.",
};

const MAX_TOKEN_INPUT = 200;

export class RecoveryService {
  constructor(private readonly k: Kernel) {}

  private get cfg() {
    return this.k.config.recovery;
  }

  /** Mails a reset link to an active account's address; the same answer and work otherwise. */
  async requestReset(input: { email: string }, req: RequestInfo): Promise<MailAcceptedResult> {
    const user = await this.lookup(input.email, req);
    if (user) {
      const token = await this.k.links.issue(RESET_PURPOSE, user, this.cfg.tokenTtlSeconds);
      this.k.mailer.sendLater(resetPasswordMail, user, { url: this.k.links.url(RESET_PATH, token), ttlMinutes: Math.max(1, Math.round(this.cfg.tokenTtlSeconds / 60)) });
    } else {
      await this.k.links.decoy(RESET_PURPOSE);
    }
    return RESET_SENT;
  }

  /**
   * Sets a new password with a reset link. The password is checked before the link is spent, so a
   * refused password does not burn it. Never signs in (a second factor must not be bypassed).
   */
  async reset(input: { token: string; password: string }): Promise<ResetPasswordResult> {
    const check = new InputCheck();
    if (input.token.length > MAX_TOKEN_INPUT) check.add("token", FIELD.TOO_LONG);
    const password = this.k.passwords.check(check, "password", input.password);
    check.throwIfAny();
    const res = await this.k.links.consume(RESET_PURPOSE, input.token);
    if (!res.ok) throw new AppError(res.reason === "expired" ? RECOVERY.PASSWORD_RESET_EXPIRED : RECOVERY.INVALID_RESET_PASSWORD_TOKEN);
    // Deactivated after the link was mailed: the holder proved the mailbox, so saying why is fine.
    if (!res.user.active) throw new AppError(AUTH.DISABLED_ACCOUNT);
    // New hash and new uniquifier: every session, access and refresh token and link of the user dies.
    let user = await this.k.users.setPassword(res.user._id, password);
    const userId = String(user._id);
    if (!user.confirmedAt) {
      // Opening the link proved control of the mailbox, which is what confirmation asks.
      user = await this.k.users.update(user._id, { $set: { confirmedAt: this.k.clock.now() } });
      await this.k.authState.publish("user", userId);
      this.k.events.emit("user.confirmed", { userId });
    }
    this.k.events.emit("password.reset", { userId });
    this.k.mailer.sendLater(passwordResetNoticeMail, user, {});
    return RESET_DONE;
  }

  /** Mails the username of an active account that has one; the same answer and work otherwise. */
  async recoverUsername(input: { email: string }, req: RequestInfo): Promise<MailAcceptedResult> {
    const user = await this.lookup(input.email, req);
    if (user?.username) this.k.mailer.sendLater(recoverUsernameMail, user, { username: user.username });
    return USERNAME_SENT;
  }

  /** Checks the address, spends the shared budget, and finds the active account (or null). */
  private async lookup(email: string, req: RequestInfo): Promise<LeanUser | null> {
    const user = await findForMail(this.k, email, { name: "recovery-send", perAddress: this.cfg.sendPerAddress, perClient: this.cfg.sendPerClient }, req.client);
    return user && user.active ? user : null;
  }
}
