// Magic sign-in links (Flask-Security's passwordless / unified sign-in by email link) on the
// link-token core: a single-use, short-lived link to an active account's address. Using it is a
// primary sign-in ("mail"): a user with a second factor still owes it. The request answers the
// same, after the same work, whether or not the address has an account.
import type { Kernel } from "../../app.js";
import { AppError, FIELD, InputCheck } from "../../core/errors.js";
import { findForMail } from "../../core/mail-requests.js";
import type { MailAcceptedResult, SignInResult } from "../../core/sign-in.js";
import type { SessionDelivery } from "../../db/session.model.js";
import type { RequestInfo } from "../auth/auth.service.js";
import { AUTH } from "../auth/auth.errors.js";
import { MAGIC_LINK } from "./magic-link.errors.js";
import { signInLinkMail } from "./magic-link.templates.js";

export const SIGN_IN_LINK_PURPOSE = "sign-in";
/** Path of the client page that reads the token from the fragment and calls signInWithLink. */
export const SIGN_IN_LINK_PATH = "sign-in-link";

const SENT: MailAcceptedResult = {
  accepted: true,
  message: "If this address has an account, a sign-in link is on its way to it.",
};

const MAX_TOKEN_INPUT = 200;

export class MagicLinkService {
  constructor(private readonly k: Kernel) {}

  private get cfg() {
    return this.k.config.magicLink;
  }

  async request(input: { email: string }, req: RequestInfo): Promise<MailAcceptedResult> {
    const user = await findForMail(this.k, input.email, { name: "magic-send", perAddress: this.cfg.sendPerAddress, perClient: this.cfg.sendPerClient }, req.client);
    // Confirmed addresses only: a link to an unconfirmed account would let whoever registered the
    // address first (with a password of their choosing) share the account its owner then confirms.
    if (user?.active && user.confirmedAt) {
      const token = await this.k.links.issue(SIGN_IN_LINK_PURPOSE, user, this.cfg.tokenTtlSeconds);
      this.k.mailer.sendLater(signInLinkMail, user, { url: this.k.links.url(SIGN_IN_LINK_PATH, token), ttlMinutes: Math.max(1, Math.round(this.cfg.tokenTtlSeconds / 60)) });
    } else {
      await this.k.links.decoy(SIGN_IN_LINK_PURPOSE, user?._id);
    }
    return SENT;
  }

  /** Spends the link and signs in (or asks for the second factor). */
  async signIn(input: { token: string; delivery: SessionDelivery; rememberDeviceToken?: string | null }, req: RequestInfo): Promise<SignInResult> {
    if (input.token.length > MAX_TOKEN_INPUT) new InputCheck().add("token", FIELD.TOO_LONG).throwIfAny();
    const res = await this.k.links.consume(SIGN_IN_LINK_PURPOSE, input.token);
    if (!res.ok) throw new AppError(res.reason === "expired" ? MAGIC_LINK.SIGN_IN_LINK_EXPIRED : MAGIC_LINK.INVALID_SIGN_IN_LINK);
    const user = res.user;
    // Deactivated after the link was mailed: the holder proved the mailbox, so saying why is fine.
    if (!user.active) throw new AppError(AUTH.DISABLED_ACCOUNT);
    this.k.events.emit("magicLink.used", { userId: String(user._id) });
    return this.k.signIn.primary(user, { delivery: input.delivery, method: "mail", rememberDeviceToken: input.rememberDeviceToken ?? null, ...req });
  }
}
