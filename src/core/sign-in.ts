// The last step of every successful primary sign-in (password, magic link, passkey, unified
// sign-in code): `primary` asks the second-step gate (registered by the two-factor feature) whether
// another factor is needed; if not, `complete` starts the session, records login tracking, delivers
// cookie or tokens and emits. No session exists before the gate is satisfied.
import type { Model } from "mongoose";
import type { LoginTrackingData } from "../db/login-tracking.model.js";
import { isDuplicateKey } from "./db-errors.js";
import { FIELD, InputCheck } from "./errors.js";
import type { SessionData, SessionDelivery } from "../db/session.model.js";
import type { Clock } from "./clock.js";
import type { CookieJar } from "./cookies.js";
import type { EventBus } from "./events.js";
import type { LeanUser } from "./auth-state.js";
import type { ClientInfo, IssuedTokens, SessionService } from "./sessions.js";


/**
 * The per-user budget of re-verification attempts by a signed-in user (verifyPassword, usVerify,
 * wanVerify, and the current password of changePassword and deleteAccount): the sign-in limit per
 * identity, one key for all of them so no path adds guesses to another. Reset it on success.
 */
export const reverifyBudget = (userId: string, rl: { loginPerIdentity: number; windowSeconds: number }): { key: string; rule: { limit: number; windowSeconds: number } } => ({
  key: `verify:user:${userId}`,
  rule: { limit: rl.loginPerIdentity, windowSeconds: rl.windowSeconds },
});

/** Longest identity (email, username or phone) a sign-in reads; longer input is refused unread. */
export const MAX_IDENTITY_LENGTH = 320;

/**
 * Sizes of sign-in input (identity, password, passcode), checked before any lookup and identically
 * for every identity: empty is REQUIRED, too long is TOO_LONG (a password may be 4× its limit in
 * UTF-16 units before normalisation).
 */
export function checkSignInSizes(fields: Record<string, string>, passwordMaxLength: number): void {
  const check = new InputCheck();
  for (const [field, value] of Object.entries(fields)) {
    const max = field === "identity" ? MAX_IDENTITY_LENGTH : passwordMaxLength * 4;
    if (value.length === 0) check.add(field, FIELD.REQUIRED);
    else if (value.length > max) check.add(field, FIELD.TOO_LONG);
  }
  check.throwIfAny();
}

export interface SignedInResult {
  __typename: "SignedIn";
  user: LeanUser;
  session: SessionData;
  tokens: IssuedTokens | null;
  rememberDeviceToken?: string | null;
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

/** "Another factor is needed": the flow id is the only handle on the half-finished sign-in. */
export interface SecondFactorRequiredResult {
  __typename: "SecondFactorRequired";
  flowId: string;
  /** Methods the user may verify with (or, when setupRequired, may set up). */
  methods: string[];
  setupRequired: boolean;
  expiresAt: Date;
}

export type SignInResult = SignedInResult | SecondFactorRequiredResult;

/** Decides whether a primary sign-in needs a second step (implemented by the two-factor feature). */
export interface SecondStepGate {
  check(user: LeanUser, req: SignInRequest): Promise<SecondFactorRequiredResult | null>;
}

export interface SignInRequest {
  delivery: SessionDelivery;
  /** The primary method (amr value: pwd, otp, hwk, mail, sms, …). */
  method: string;
  /** Further methods already passed (the second factor), recorded in the session's amr. */
  moreMethods?: string[];
  client: ClientInfo;
  cookies: CookieJar;
  /** A remember-device token presented by an API client (browsers send a cookie). */
  rememberDeviceToken?: string | null;
}

export class SignInService {
  private gate: SecondStepGate | null = null;
  constructor(
    private readonly Tracking: Model<LoginTrackingData>,
    private readonly sessions: SessionService,
    private readonly events: EventBus,
    private readonly clock: Clock,
    private readonly absoluteTtlSeconds: number,
  ) {}

  /** Installed once by the two-factor feature; without it every primary sign-in completes. */
  setGate(gate: SecondStepGate): void {
    this.gate = gate;
  }

  /** After a successful primary method: a session, or the second step the gate asks for. */
  async primary(user: LeanUser, req: SignInRequest): Promise<SignInResult> {
    const step = this.gate ? await this.gate.check(user, req) : null;
    return step ?? this.complete(user, req);
  }

  /** Starts the session. Only for callers that have passed every factor (or `primary`). */
  async complete(user: LeanUser, req: SignInRequest): Promise<SignedInResult> {
    const amr = [req.method, ...(req.moreMethods ?? [])];
    const started = await this.sessions.start(user, { delivery: req.delivery, amr, client: req.client });
    const now = this.clock.now();
    // In its own collection, never on the user document (see login-tracking.model.ts). Concurrent
    // logins of one user may count once: updates are not isolated on FerretDB v1 (tracking only).
    const prev = await this.Tracking.findById(user._id).lean();
    const tracking = {
      lastLoginAt: prev?.currentLoginAt ?? now,
      lastLoginIp: prev?.currentLoginIp ?? req.client.ip,
      currentLoginAt: now,
      currentLoginIp: req.client.ip,
      loginCount: (prev?.loginCount ?? 0) + 1,
    };
    await this.Tracking.updateOne({ _id: user._id }, { $set: tracking }, { upsert: true }).catch((err: unknown) => {
      // Two first logins at once: both upserts tried the insert; the loser updates instead.
      if (!isDuplicateKey(err)) throw err;
      return this.Tracking.updateOne({ _id: user._id }, { $set: tracking });
    });
    if (req.delivery === "cookie") req.cookies.setSession(started.cookieToken, this.absoluteTtlSeconds);
    this.events.emit("user.loggedIn", { userId: String(user._id), sessionId: String(started.session._id), method: req.method, ip: req.client.ip });
    return { __typename: "SignedIn", user, session: started.session, tokens: started.tokens };
  }
}
