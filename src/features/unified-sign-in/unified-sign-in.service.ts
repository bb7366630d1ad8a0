// Unified sign-in (Flask-Security's us-signin): an identity (email, username or verified SMS number)
// and a passcode that is the password or any one-time code the user can receive or generate. Every
// path does the same work for unknown identities as for known ones: the code lookups run against a
// made-up id, the authenticator lookup too, and the password check spends one bcrypt verification
// on a dummy hash, so neither the answer nor its time says whether the identity exists.
import { afterResponse } from "../../core/after-response.js";
import { Types } from "mongoose";
import type { Kernel } from "../../app.js";
import type { LeanUser } from "../../core/auth-state.js";
import { addSeconds } from "../../core/clock.js";
import { sha256 } from "../../core/crypto.js";
import { AppError } from "../../core/errors.js";
import { identityLookup, maskEmail } from "../../core/identity.js";
import { maskPhone, toE164 } from "../../core/phone.js";
import { reverifyBudget, checkSignInSizes, type MailAcceptedResult, type SignInResult } from "../../core/sign-in.js";
import type { Viewer } from "../../core/viewer.js";
import { USERS } from "../../core/users.js";
import type { SessionDelivery } from "../../db/session.model.js";
import type { RequestInfo } from "../auth/auth.service.js";
import { AUTH } from "../auth/auth.errors.js";
import type { ConfirmationService } from "../confirmation/confirmation.service.js";
import { SIGN_IN_LINK_PATH, SIGN_IN_LINK_PURPOSE } from "../magic-link/magic-link.service.js";
import type { TwoFactorService } from "../two-factor/two-factor.service.js";
import { TWO_FACTOR } from "../two-factor/two-factor.errors.js";
import { twoFactorCodeMail } from "../two-factor/two-factor.templates.js";
import { usCodeMail } from "./unified-sign-in.templates.js";

export type UsCodeMethod = "EMAIL" | "SMS";
/** A user read with its password hash (for the password check only; never returned). */
type WithHash = LeanUser & { passwordHash?: string | null };
type PasscodeKind = "password" | "email" | "sms" | "authenticator";

const AMR: Record<PasscodeKind, string> = { password: "pwd", email: "email", sms: "sms", authenticator: "otp" };

const SENT: MailAcceptedResult = {
  accepted: true,
  message: "If this identity has an account that can receive it, a sign-in code is on its way.",
};

export class UnifiedSignInService {
  constructor(
    private readonly k: Kernel,
    private readonly twoFactor: TwoFactorService,
    private readonly confirmation: ConfirmationService,
  ) {}

  private get cfg() {
    return this.k.config.unifiedSignIn;
  }

  /** The key a lookup is limited by (an identity's normal form, hashed), and the account or null. */
  private async find(identity: string): Promise<{ key: string; user: WithHash | null }> {
    const phone = /^[+0-9(][0-9\s().\-/]*$/u.test(identity.trim()) ? toE164(identity.trim()) : null;
    if (phone) {
      const owners = await this.k.models.SecondFactor.find({ "sms.phone": phone }).select("_id").limit(2).lean();
      // A number shared by two accounts identifies neither.
      const user = owners.length === 1 ? await this.k.models.User.findById(owners[0]!._id).select("+passwordHash").lean() : null;
      return { key: sha256(`phone:${phone}`), user };
    }
    const lookup = identityLookup(identity);
    const usernameOff = "usernameKey" in lookup && !this.k.config.registration.usernameEnabled;
    const user = usernameOff ? null : await this.k.models.User.findOne(lookup).select("+passwordHash").lean();
    return { key: sha256(JSON.stringify(lookup)), user };
  }

  async sendCode(input: { identity: string; method: UsCodeMethod }, req: RequestInfo): Promise<MailAcceptedResult> {
    checkSignInSizes({ identity: input.identity }, this.k.config.passwords.maxLength);
    const { key, user } = await this.find(input.identity);
    const windowSeconds = this.k.config.rateLimit.windowSeconds;
    await this.k.limiter.consume(
      { key: `us-send:id:${key}`, rule: { limit: this.cfg.sendPerIdentity, windowSeconds } },
      { key: `us-send:ip:${req.client.ip}`, rule: { limit: this.cfg.sendPerClient, windowSeconds } },
    );
    const phone = user?.active && input.method === "SMS" ? ((await this.twoFactor.load(user._id))?.sms?.phone ?? null) : null;
    // Mail to confirmed addresses only (as magic links: no sharing an account someone else
    // registered to the address); SMS to a number proven at setup.
    if (user?.active && ((input.method === "EMAIL" && user.confirmedAt) || phone)) {
      const ttl = this.k.config.twoFactor.codeTtlSeconds;
      const code = await this.k.codes.issue(user._id, `us-${input.method}`, "", ttl);
      const ttlMinutes = Math.max(1, Math.round(ttl / 60));
      if (phone) {
        const body = `${this.k.config.productName}: ${code} is your sign-in code. It expires in ${ttlMinutes} min.`;
        // After the response, like mail: the answer must not depend on delivery, nor take its time.
        afterResponse(() => void this.k.sms.send({ to: phone, body, purpose: "us-code" }).catch(() => undefined));
      } else {
        const url = this.k.config.magicLink.enabled
          ? this.k.links.url(SIGN_IN_LINK_PATH, await this.k.links.issue(SIGN_IN_LINK_PURPOSE, user, Math.min(ttl, this.k.config.magicLink.tokenTtlSeconds)))
          : null;
        this.k.mailer.sendLater(usCodeMail, user, { code, url, ttlMinutes });
      }
    } else {
      await this.k.codes.decoy();
      // The known EMAIL path also issues a sign-in link: the same work here.
      if (input.method === "EMAIL" && this.k.config.magicLink.enabled) await this.k.links.decoy(SIGN_IN_LINK_PURPOSE, user?._id);
    }
    return SENT;
  }

  async signIn(input: { identity: string; passcode: string; delivery: SessionDelivery; rememberDeviceToken?: string | null }, req: RequestInfo): Promise<SignInResult> {
    checkSignInSizes({ identity: input.identity, passcode: input.passcode }, this.k.config.passwords.maxLength);
    const { key, user } = await this.find(input.identity);
    const rl = this.k.config.rateLimit;
    const identityKey = `login:id:${key}`;
    let identityCount = 0;
    try {
      [identityCount = 0] = await this.k.limiter.consume(
        { key: identityKey, rule: { limit: rl.loginPerIdentity, windowSeconds: rl.windowSeconds } },
        { key: `login:ip:${req.client.ip}`, rule: { limit: rl.loginPerClient, windowSeconds: rl.windowSeconds } },
      );
    } catch (err) {
      this.k.events.emit("user.loginFailed", { identityHash: identityKey, ip: req.client.ip, reason: "rate_limited" });
      throw err;
    }
    const kind = await this.passcodeKind(user, input.passcode);
    if (!user || !kind) {
      this.k.events.emit("user.loginFailed", { identityHash: identityKey, ip: req.client.ip, reason: "credentials" });
      if (this.k.config.genericResponses) throw new AppError(AUTH.GENERIC_AUTHN_FAILED);
      throw new AppError(user ? AUTH.INVALID_PASSWORD : USERS.USER_DOES_NOT_EXIST);
    }
    if (!user.active) throw new AppError(AUTH.DISABLED_ACCOUNT);
    const { passwordHash: _hash, ...lean } = user;
    const signedIn = lean as LeanUser;
    // Email codes only go to confirmed addresses; the rule for unconfirmed users is the password's.
    if (kind === "password" || kind === "email") this.confirmation.assertMaySignIn(user);
    if (identityCount > 1) await this.k.limiter.reset(identityKey);
    const signInReq = { delivery: input.delivery, method: AMR[kind], rememberDeviceToken: input.rememberDeviceToken ?? null, ...req };
    return this.cfg.secondFactorAfter.includes(kind) ? this.k.signIn.primary(signedIn, signInReq) : this.k.signIn.complete(signedIn, signInReq);
  }

  /**
   * Which kind of passcode this is for `user`, or null. The same lookups run for an unknown user
   * (against a made-up id) and the password check always spends one bcrypt verification.
   */
  private async passcodeKind(user: WithHash | null, passcode: string, verifyContext = ""): Promise<PasscodeKind | null> {
    const id = user?._id ?? new Types.ObjectId();
    const purpose = verifyContext ? "us-verify" : "us";
    if (await this.k.codes.verify(id, `${purpose}-EMAIL`, verifyContext, passcode)) return "email";
    if (await this.k.codes.verify(id, `${purpose}-SMS`, verifyContext, passcode)) return "sms";
    const factors = await this.twoFactor.load(id);
    if (user && factors?.authenticator && (await this.twoFactor.checkTotp(user, passcode))) return "authenticator";
    return (await this.k.passwords.verify(passcode, user?.passwordHash)) ? "password" : null;
  }

  async sendVerifyCode(viewer: Viewer, method: UsCodeMethod): Promise<{ sentTo: string; expiresAt: Date }> {
    await this.k.limiter.consume({ key: `2fa-send:user:${viewer.userId}`, rule: { limit: this.k.config.twoFactor.sendPerUser, windowSeconds: this.k.config.rateLimit.windowSeconds } });
    const ttl = this.k.config.twoFactor.codeTtlSeconds;
    const context = `session:${String(viewer.session._id)}`;
    const ttlMinutes = Math.max(1, Math.round(ttl / 60));
    if (method === "SMS") {
      const phone = (await this.twoFactor.load(viewer.user._id))?.sms?.phone;
      if (!phone) throw new AppError(TWO_FACTOR.TWO_FACTOR_METHOD_NOT_AVAILABLE);
      const code = await this.k.codes.issue(viewer.user._id, "us-verify-SMS", context, ttl);
      await this.k.sms.send({ to: phone, body: `${this.k.config.productName}: ${code} is your code to confirm it is you. It expires in ${ttlMinutes} min.`, purpose: "us-verify" });
      return { sentTo: maskPhone(phone), expiresAt: addSeconds(this.k.clock.now(), ttl) };
    }
    const code = await this.k.codes.issue(viewer.user._id, "us-verify-EMAIL", context, ttl);
    await this.k.mailer.sendTemplate(twoFactorCodeMail, viewer.user.email, { code, ttlMinutes, why: "to confirm it is you" });
    return { sentTo: maskEmail(viewer.user.email), expiresAt: addSeconds(this.k.clock.now(), ttl) };
  }

  /** Freshness by any passcode; limited per user like verifyPassword. */
  async verify(viewer: Viewer, passcode: string): Promise<Date> {
    checkSignInSizes({ passcode }, this.k.config.passwords.maxLength);
    await this.k.limiter.consume(reverifyBudget(viewer.userId, this.k.config.rateLimit));
    const user = await this.k.models.User.findById(viewer.user._id).select("+passwordHash").lean();
    const kind = await this.passcodeKind(user, passcode, `session:${String(viewer.session._id)}`);
    if (!kind) throw new AppError(TWO_FACTOR.INVALID_CODE);
    await this.k.limiter.reset(reverifyBudget(viewer.userId, this.k.config.rateLimit).key);
    const at = await this.k.sessions.markFresh(viewer.state, AMR[kind]);
    this.k.events.emit("user.reauthenticated", { userId: viewer.userId, sessionId: String(viewer.session._id), method: AMR[kind] });
    return at;
  }
}
