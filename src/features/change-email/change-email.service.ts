// Change email (Flask-Security's change email) on the link-token core. The link goes to the new
// address and carries it (the link token's `data`); the current address gets a notice at once and
// another when the change is made. The answer to a request is the same whether or not the new
// address belongs to another account (its owner gets a notice instead of a link), after the same
// database work. Links are bound to the current email, so any change in between kills them.
import type { Kernel } from "../../app.js";
import { AppError, FIELD, InputCheck } from "../../core/errors.js";
import { checkEmail, normalizeEmail } from "../../core/identity.js";
import { sha256 } from "../../core/crypto.js";
import { isDuplicateKey } from "../../core/db-errors.js";
import { USERS } from "../../core/users.js";
import type { LeanUser } from "../../core/auth-state.js";
import type { Viewer } from "../../core/viewer.js";
import { CHANGE_EMAIL } from "./change-email.errors.js";
import { changeEmailRequestedMail, confirmChangeEmailMail, emailChangedMail, emailTakenMail } from "./change-email.templates.js";

export const CHANGE_EMAIL_PURPOSE = "change-email";
/** Path of the client page that reads the token from the fragment and calls confirmChangeEmail. */
export const CHANGE_EMAIL_PATH = "confirm-change-email";

export interface ChangeEmailRequested {
  accepted: true;
  message: string;
}

const REQUESTED: ChangeEmailRequested = {
  accepted: true,
  message: "If the new address can be used, a confirmation link is on its way to it. Nothing changes until that link is used.",
};

const MAX_EMAIL_INPUT = 320;
const MAX_TOKEN_INPUT = 200;

const alreadyAssociated = () => new AppError(USERS.EMAIL_ALREADY_ASSOCIATED, { fieldErrors: [{ field: "newEmail", ...USERS.EMAIL_ALREADY_ASSOCIATED }] });

export class ChangeEmailService {
  constructor(private readonly k: Kernel) {}

  private get cfg() {
    return this.k.config.changeEmail;
  }

  /** Mails a link to the new address and a notice to the current one; changes nothing yet. */
  async request(viewer: Viewer, input: { newEmail: string }): Promise<ChangeEmailRequested> {
    const check = new InputCheck();
    if (input.newEmail.length === 0) check.add("newEmail", FIELD.REQUIRED);
    else if (input.newEmail.length > MAX_EMAIL_INPUT) check.add("newEmail", FIELD.TOO_LONG);
    check.throwIfAny();
    const next = checkEmail(check, "newEmail", input.newEmail, this.k.config.identity);
    check.throwIfAny();
    const user = await this.k.users.findById(viewer.userId);
    if (!user) throw new AppError(USERS.USER_DOES_NOT_EXIST);
    if (next.emailKey === user.emailKey) check.add("newEmail", CHANGE_EMAIL.EMAIL_IS_THE_SAME).throwIfAny();
    const rule = { limit: this.cfg.requestsPerUser, windowSeconds: this.k.config.rateLimit.windowSeconds };
    await this.k.limiter.consume({ key: `change-email:user:${viewer.userId}`, rule }, { key: `change-email:addr:${sha256(next.emailKey)}`, rule });
    const owner = await this.k.users.findByEmailKey(next.emailKey);
    if (owner && !this.k.config.genericResponses) throw alreadyAssociated();
    if (owner) {
      // The same database work as issuing, older links of this user die as they would: the
      // requester cannot tell a taken address from a free one, not even through an older link.
      await this.k.links.decoy(CHANGE_EMAIL_PURPOSE, user._id);
      this.k.mailer.sendLater(emailTakenMail, owner, {});
    } else {
      const token = await this.k.links.issue(CHANGE_EMAIL_PURPOSE, user, this.cfg.tokenTtlSeconds, next.email);
      const ttlHours = Math.max(1, Math.round(this.cfg.tokenTtlSeconds / 3600));
      this.k.mailer.sendLater(confirmChangeEmailMail, { _id: user._id, email: next.email }, { url: this.k.links.url(CHANGE_EMAIL_PATH, token), ttlHours });
    }
    this.k.mailer.sendLater(changeEmailRequestedMail, user, { newEmail: next.email });
    this.k.events.emit("email.changeRequested", { userId: viewer.userId });
    return REQUESTED;
  }

  /** Uses a change-email link: the address it carries becomes the user's (confirmed) email. */
  async confirm(token: string): Promise<{ email: string }> {
    if (token.length > MAX_TOKEN_INPUT) new InputCheck().add("token", FIELD.TOO_LONG).throwIfAny();
    const res = await this.k.links.consume(CHANGE_EMAIL_PURPOSE, token);
    if (!res.ok) throw new AppError(res.reason === "expired" ? CHANGE_EMAIL.CHANGE_EMAIL_EXPIRED : CHANGE_EMAIL.INVALID_CHANGE_EMAIL_TOKEN);
    if (!res.data || !res.user.active) throw new AppError(CHANGE_EMAIL.INVALID_CHANGE_EMAIL_TOKEN);
    const next = normalizeEmail(res.data);
    const holder = await this.k.users.findByEmailKey(next.emailKey);
    if (holder && !holder._id.equals(res.user._id)) throw new AppError(USERS.EMAIL_ALREADY_ASSOCIATED);
    let user: LeanUser;
    try {
      user = await this.k.users.update(res.user._id, { $set: { email: next.email, emailKey: next.emailKey, confirmedAt: this.k.clock.now() } });
    } catch (err) {
      // The unique index on emailKey is the final judge when two confirmations race.
      if (isDuplicateKey(err)) throw new AppError(USERS.EMAIL_ALREADY_ASSOCIATED);
      throw err;
    }
    await this.k.authState.publish("user", String(user._id));
    this.k.events.emit("email.changed", { userId: String(user._id) });
    this.k.mailer.sendLater(emailChangedMail, res.user, { newEmail: user.email });
    return { email: user.email };
  }

}
