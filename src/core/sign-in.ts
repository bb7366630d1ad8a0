// The last step of every successful primary sign-in (password now; codes, passkeys and links in
// later features): start the session, record login tracking, deliver cookie or tokens, emit.
import type { Model } from "mongoose";
import type { UserData } from "../db/user.model.js";
import type { SessionData, SessionDelivery } from "../db/session.model.js";
import type { Clock } from "./clock.js";
import type { CookieJar } from "./cookies.js";
import type { EventBus } from "./events.js";
import type { AuthStateStore, LeanUser } from "./auth-state.js";
import type { ClientInfo, IssuedTokens, SessionService } from "./sessions.js";

export interface SignedInResult {
  __typename: "SignedIn";
  user: LeanUser;
  session: SessionData;
  tokens: IssuedTokens | null;
}

export interface AcceptedResult {
  __typename: "RegistrationAccepted";
  accepted: true;
  message: string;
}

/** The generic answer of a mutation that may send mail (the same whether or not the address exists). */
export interface MailAcceptedResult {
  accepted: true;
  message: string;
}

export interface SignInRequest {
  delivery: SessionDelivery;
  method: string;
  client: ClientInfo;
  cookies: CookieJar;
}

export class SignInService {
  constructor(
    private readonly User: Model<UserData>,
    private readonly sessions: SessionService,
    private readonly state: AuthStateStore,
    private readonly events: EventBus,
    private readonly clock: Clock,
    private readonly absoluteTtlSeconds: number,
  ) {}

  async complete(user: LeanUser, req: SignInRequest): Promise<SignedInResult> {
    const started = await this.sessions.start(user, { delivery: req.delivery, amr: [req.method], client: req.client });
    const now = this.clock.now();
    const tracking = {
      lastLoginAt: user.currentLoginAt ?? now,
      lastLoginIp: user.currentLoginIp ?? req.client.ip,
      currentLoginAt: now,
      currentLoginIp: req.client.ip,
    };
    // $inc is not atomic on FerretDB v1: concurrent logins of one user may count once (tracking only).
    await this.User.updateOne({ _id: user._id }, { $set: tracking, $inc: { loginCount: 1 } });
    const tracked = { ...user, ...tracking, loginCount: user.loginCount + 1 };
    this.state.forgetUser(String(user._id));
    if (req.delivery === "cookie") req.cookies.setSession(started.cookieToken, this.absoluteTtlSeconds);
    this.events.emit("user.loggedIn", { userId: String(user._id), sessionId: String(started.session._id), method: req.method, ip: req.client.ip });
    return { __typename: "SignedIn", user: tracked, session: started.session, tokens: started.tokens };
  }
}
