// Email confirmation (Flask-Security's confirmable) on the link-token core. Registration calls
// `registered` / `registerAttempted`; mail goes out in the background, so a slow or refusing SMTP
// server changes neither the answer nor its timing, and loses no state (the user asks again with
// sendConfirmation). Failures are logged without the token.
import type { MailAcceptedResult } from "../../core/sign-in.js";
import type { Kernel } from "../../app.js";
import { AppError, FIELD, InputCheck } from "../../core/errors.js";
import { findForMail } from "../../core/mail-requests.js";
import type { LeanUser } from "../../core/auth-state.js";
import type { RequestInfo } from "../auth/auth.service.js";
import { CONFIRMATION } from "./confirmation.errors.js";
import { confirmEmailMail, registerAttemptMail, welcomeMail } from "./confirmation.templates.js";

export const CONFIRM_PURPOSE = "confirm-email";
/** Path of the client page that reads the token from the fragment and calls confirmEmail. */
export const CONFIRM_PATH = "confirm-email";

const SENT: MailAcceptedResult = {
  accepted: true,
  message: "If this address has an account that still needs confirming, a new confirmation link is on its way to it.",
};


export class ConfirmationService {
  constructor(private readonly k: Kernel) {}

  private get cfg() {
    return this.k.config.confirmation;
  }

  /** True when an unconfirmed user may not sign in. */
  get requiredForLogin(): boolean {
    return this.cfg.enabled && this.cfg.requiredForLogin;
  }

  /** Throws CONFIRMATION_REQUIRED for an unconfirmed user when confirmation is required. */
  assertMaySignIn(user: Pick<LeanUser, "confirmedAt">): void {
    if (this.requiredForLogin && !user.confirmedAt) throw new AppError(CONFIRMATION.CONFIRMATION_REQUIRED);
  }

  /** After a new registration: the confirmation link, or a welcome mail when confirmation is off. */
  async registered(user: LeanUser): Promise<void> {
    if (!this.cfg.enabled) return this.k.mailer.sendLater(welcomeMail, user, {});
    try {
      await this.sendLink(user);
    } catch (err) {
      // The account exists; its owner can ask for a new link. The answer stays the same.
      this.k.log.error({ err: (err as Error).message, userId: String(user._id) }, "confirmation link not issued");
    }
  }

  /** After a registration attempt with an existing address: tell its owner (as Flask-Security does). */
  async registerAttempted(user: LeanUser): Promise<void> {
    // The same database work as a new user's link, so both answers take the same time.
    if (this.cfg.enabled) await this.k.links.decoy(CONFIRM_PURPOSE).catch(() => undefined);
    this.k.mailer.sendLater(registerAttemptMail, user, {});
  }

  async confirm(token: string): Promise<{ confirmed: true; email: string }> {
    if (token.length > 200) new InputCheck().add("token", FIELD.TOO_LONG).throwIfAny();
    const res = await this.k.links.consume(CONFIRM_PURPOSE, token);
    if (!res.ok) throw new AppError(res.reason === "expired" ? CONFIRMATION.CONFIRMATION_EXPIRED : CONFIRMATION.INVALID_CONFIRMATION_TOKEN);
    if (res.user.confirmedAt) throw new AppError(CONFIRMATION.ALREADY_CONFIRMED);
    const user = await this.k.users.update(res.user._id, { $set: { confirmedAt: this.k.clock.now() } });
    await this.k.authState.publish("user", String(user._id));
    this.k.events.emit("user.confirmed", { userId: String(user._id) });
    return { confirmed: true, email: user.email };
  }

  /**
   * The same answer, after the same database work, for an unknown, an unconfirmed and a confirmed
   * address; the mail itself goes out in the background.
   */
  async resend(input: { email: string }, req: RequestInfo): Promise<MailAcceptedResult> {
    const user = await findForMail(this.k, input.email, { name: "confirm-send", perAddress: this.cfg.sendPerAddress, perClient: this.cfg.sendPerClient }, req.client);
    if (user && !user.confirmedAt) await this.sendLink(user);
    else await this.k.links.decoy(CONFIRM_PURPOSE);
    return SENT;
  }

  private async sendLink(user: LeanUser): Promise<void> {
    const token = await this.k.links.issue(CONFIRM_PURPOSE, user, this.cfg.tokenTtlSeconds);
    this.k.mailer.sendLater(confirmEmailMail, user, { url: this.k.links.url(CONFIRM_PATH, token), ttlHours: Math.max(1, Math.round(this.cfg.tokenTtlSeconds / 3600)) });
  }

}
