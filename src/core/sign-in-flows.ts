// The persisted second step of a sign-in. A flow is created after a primary method passed and a
// second factor is owed; it expires, counts attempts (per flow and per user, so a flood of wrong
// codes is throttled even across fresh flows), dies with a password change or reset (uniquifier),
// and is finished exactly once (a claim) into a real session. Shared by every second factor
// (codes, recovery codes, passkeys).
import type { Model } from "mongoose";
import type { SignInFlowData } from "../db/sign-in-flow.model.js";
import type { UserData } from "../db/user.model.js";
import type { LeanUser } from "./auth-state.js";
import type { Claims } from "./claims.js";
import { addSeconds, type Clock } from "./clock.js";
import { randomToken, sha256 } from "./crypto.js";
import { AppError, defineErrors } from "./errors.js";
import type { RateLimiter } from "./rate-limit.js";
import type { SecondFactorRequiredResult, SignedInResult, SignInRequest, SignInService } from "./sign-in.js";

export const FLOW = defineErrors({
  SIGN_IN_FLOW_INVALID: "This sign-in is not valid any more. Sign in again.",
  SIGN_IN_FLOW_EXPIRED: "This sign-in has expired. Sign in again.",
});

export interface FlowSettings {
  flowTtlSeconds: number;
  attemptsPerFlow: number;
  attemptsPerUser: number;
  attemptsPerUserPerDay: number;
  windowSeconds: number;
}

export interface OpenFlow {
  flow: SignInFlowData;
  user: LeanUser;
}

/** A flow id: 32 random bytes in base64url; anything else is refused before any lookup. */
const FLOW_ID_SHAPE = /^[A-Za-z0-9_-]{43}$/;

export class SignInFlows {
  constructor(
    private readonly Flow: Model<SignInFlowData>,
    private readonly User: Model<UserData>,
    private readonly claims: Claims,
    private readonly limiter: RateLimiter,
    private readonly signIn: SignInService,
    private readonly clock: Clock,
    private readonly settings: FlowSettings,
  ) {}

  async start(user: LeanUser, req: SignInRequest, opts: { methods: string[]; setupRequired: boolean }): Promise<SecondFactorRequiredResult> {
    const flowId = randomToken(32);
    const now = this.clock.now();
    const expiresAt = addSeconds(now, this.settings.flowTtlSeconds);
    await this.Flow.create({
      _id: sha256(flowId),
      userId: user._id,
      uniquifier: user.uniquifier,
      method: req.method,
      delivery: req.delivery,
      methods: opts.methods,
      setupRequired: opts.setupRequired,
      createdAt: now,
      expiresAt,
    });
    return { __typename: "SecondFactorRequired", flowId, methods: opts.methods, setupRequired: opts.setupRequired, expiresAt };
  }

  /**
   * The live flow and its user, counting one attempt against the flow and the user (call it once
   * per verification attempt, before checking the code). Over the per-flow cap the flow is deleted:
   * the user starts again from the primary method, which has its own limits.
   */
  async attempt(flowId: string): Promise<OpenFlow> {
    const open = await this.peek(flowId);
    try {
      await this.limiter.consume({ key: `flow:${open.flow._id}`, rule: { limit: this.settings.attemptsPerFlow, windowSeconds: this.settings.flowTtlSeconds } }, ...this.userBudget(open.user._id));
    } catch (err) {
      await this.Flow.deleteOne({ _id: open.flow._id });
      throw err;
    }
    return open;
  }

  /**
   * A user's budget of second-factor code attempts, in two tiers: attemptsPerUser per limiter
   * window, and attemptsPerUserPerDay per day. Someone who has the password can start fresh flows
   * at will; the daily tier turns "10 guesses every 15 minutes, forever" (960 a day) into a lockout
   * that grows to a day. A passed second factor clears both.
   */
  userBudget(userId: LeanUser["_id"] | string): Array<{ key: string; rule: { limit: number; windowSeconds: number } }> {
    return [
      { key: `2fa:user:${String(userId)}`, rule: { limit: this.settings.attemptsPerUser, windowSeconds: this.settings.windowSeconds } },
      { key: `2fa-day:user:${String(userId)}`, rule: { limit: this.settings.attemptsPerUserPerDay, windowSeconds: 86_400 } },
    ];
  }

  /** The live flow and its user without counting an attempt (sending a code, reading methods). */
  async peek(flowId: string): Promise<OpenFlow> {
    if (typeof flowId !== "string" || !FLOW_ID_SHAPE.test(flowId)) throw new AppError(FLOW.SIGN_IN_FLOW_INVALID);
    const flow = await this.Flow.findById(sha256(flowId)).lean();
    if (!flow) throw new AppError(FLOW.SIGN_IN_FLOW_INVALID);
    if (flow.expiresAt.getTime() <= this.clock.now().getTime()) {
      await this.Flow.deleteOne({ _id: flow._id });
      throw new AppError(FLOW.SIGN_IN_FLOW_EXPIRED);
    }
    const user = await this.User.findById(flow.userId).lean();
    if (!user || !user.active || user.uniquifier !== flow.uniquifier) {
      await this.Flow.deleteOne({ _id: flow._id });
      throw new AppError(FLOW.SIGN_IN_FLOW_INVALID);
    }
    return { flow, user };
  }

  /** After the second factor passed: the session, exactly once per flow. */
  async finish(open: OpenFlow, secondMethod: string, req: Pick<SignInRequest, "client" | "cookies">): Promise<SignedInResult> {
    const won = await this.claims.once(`flow:${open.flow._id}`, this.settings.flowTtlSeconds + 60);
    await this.Flow.deleteOne({ _id: open.flow._id });
    if (!won) throw new AppError(FLOW.SIGN_IN_FLOW_INVALID);
    for (const { key } of this.userBudget(open.user._id)) await this.limiter.reset(key);
    return this.signIn.complete(open.user, { delivery: open.flow.delivery, method: open.flow.method, moreMethods: [secondMethod], ...req });
  }

  async sweep(): Promise<void> {
    await this.Flow.deleteMany({ expiresAt: { $lt: this.clock.now() } });
  }
}
