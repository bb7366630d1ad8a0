import { Types } from "mongoose";
import type { Kernel } from "../../app.js";
import { AppError, CORE, FIELD, InputCheck } from "../../core/errors.js";
import { identityLookup } from "../../core/identity.js";
import { sha256 } from "../../core/crypto.js";
import { USERS } from "../../core/users.js";
import type { SessionDelivery } from "../../db/session.model.js";
import type { ClientInfo } from "../../core/sessions.js";
import type { CookieJar } from "../../core/cookies.js";
import type { Viewer } from "../../core/viewer.js";
import { reverifyBudget, checkSignInSizes, type SignInResult } from "../../core/sign-in.js";
import { AUTH } from "./auth.errors.js";
import type { ConfirmationService } from "../confirmation/confirmation.service.js";

export interface RequestInfo {
  client: ClientInfo;
  cookies: CookieJar;
}

export class AuthService {
  constructor(private readonly k: Kernel, private readonly confirmation: ConfirmationService) {}

  private get rules() {
    const rl = this.k.config.rateLimit;
    return {
      identity: { limit: rl.loginPerIdentity, windowSeconds: rl.windowSeconds },
      client: { limit: rl.loginPerClient, windowSeconds: rl.windowSeconds },
    };
  }

  /**
   * Password sign-in. Every path (unknown identity, wrong password, inactive account) spends one
   * bcrypt verification and counts one attempt for the identity and one for the client address.
   */
  async login(input: { identity: string; password: string; delivery: SessionDelivery; rememberDeviceToken?: string | null }, req: RequestInfo): Promise<SignInResult> {
    checkSignInSizes({ identity: input.identity, password: input.password }, this.k.config.passwords.maxLength);
    const lookup = identityLookup(input.identity);
    const identityKey = `login:id:${sha256(JSON.stringify(lookup))}`;
    let identityCount = 0;
    try {
      [identityCount = 0] = await this.k.limiter.consume({ key: identityKey, rule: this.rules.identity }, { key: `login:ip:${req.client.ip}`, rule: this.rules.client });
    } catch (err) {
      this.k.events.emit("user.loginFailed", { identityHash: identityKey, ip: req.client.ip, reason: "rate_limited" });
      throw err;
    }
    const usernameOff = "usernameKey" in lookup && !this.k.config.registration.usernameEnabled;
    const user = usernameOff ? null : await this.k.models.User.findOne(lookup).select("+passwordHash").lean();
    const ok = await this.k.passwords.verify(input.password, user?.passwordHash);
    if (!user || !ok) {
      this.k.events.emit("user.loginFailed", { identityHash: identityKey, ip: req.client.ip, reason: "credentials" });
      if (this.k.config.genericResponses) throw new AppError(AUTH.GENERIC_AUTHN_FAILED);
      throw new AppError(user ? AUTH.INVALID_PASSWORD : USERS.USER_DOES_NOT_EXIST);
    }
    if (!user.active) {
      // Only said to someone who knows the password, as Flask-Security does.
      this.k.events.emit("user.loginFailed", { identityHash: identityKey, ip: req.client.ip, reason: "inactive" });
      throw new AppError(AUTH.DISABLED_ACCOUNT);
    }
    try {
      this.confirmation.assertMaySignIn(user); // also only after a correct password
    } catch (err) {
      this.k.events.emit("user.loginFailed", { identityHash: identityKey, ip: req.client.ip, reason: "unconfirmed" });
      throw err;
    }
    const { passwordHash, ...lean } = user;
    if (passwordHash && this.k.passwords.needsRehash(passwordHash)) {
      await this.k.models.User.updateOne({ _id: user._id }, { $set: { passwordHash: await this.k.passwords.hash(input.password) } });
    }
    if (identityCount > 1) await this.k.limiter.reset(identityKey); // earlier failures are forgiven
    return this.k.signIn.primary(lean, { delivery: input.delivery, method: "pwd", rememberDeviceToken: input.rememberDeviceToken ?? null, ...req });
  }

  async logout(viewer: Viewer, cookies: CookieJar): Promise<boolean> {
    await this.k.sessions.revoke(viewer.state, "logout");
    cookies.clearSession();
    this.k.events.emit("user.loggedOut", { userId: viewer.userId, sessionId: String(viewer.session._id) });
    return true;
  }

  async refresh(refreshToken: string) {
    if (refreshToken.length > 200) new InputCheck().add("refreshToken", FIELD.TOO_LONG).throwIfAny();
    const { tokens } = await this.k.sessions.refresh(refreshToken);
    return tokens;
  }

  /** Re-verification for freshness; limited per user like sign-in. */
  async verifyPassword(viewer: Viewer, password: string): Promise<Date> {
    checkSignInSizes({ password }, this.k.config.passwords.maxLength);
    await this.k.limiter.consume(reverifyBudget(viewer.userId, this.k.config.rateLimit));
    const user = await this.k.models.User.findById(viewer.user._id).select("+passwordHash").lean();
    if (!(await this.k.passwords.verify(password, user?.passwordHash))) throw new AppError(AUTH.INVALID_PASSWORD);
    await this.k.limiter.reset(reverifyBudget(viewer.userId, this.k.config.rateLimit).key);
    const at = await this.k.sessions.markFresh(viewer.state, "pwd");
    this.k.events.emit("user.reauthenticated", { userId: viewer.userId, sessionId: String(viewer.session._id), method: "pwd" });
    return at;
  }

  listSessions(viewer: Viewer) {
    return this.k.sessions.listLive(viewer.user._id);
  }

  /** Only the caller's own sessions; another user's id looks exactly like an unknown one. */
  async revokeSession(viewer: Viewer, id: string, cookies: CookieJar): Promise<boolean> {
    const state = Types.ObjectId.isValid(id) ? await this.k.authState.bySessionId(id) : null;
    if (!state || String(state.user._id) !== viewer.userId || state.session.revokedAt) throw new AppError(CORE.NOT_FOUND);
    await this.k.sessions.revoke(state, "revoked_by_user");
    if (id === String(viewer.session._id)) cookies.clearSession();
    return true;
  }

  revokeOtherSessions(viewer: Viewer): Promise<number> {
    return this.k.sessions.revokeAllOf(viewer.user._id, "revoked_by_user", String(viewer.session._id));
  }
}
