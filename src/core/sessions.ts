// Sessions: one document per sign-in. Browsers get an opaque httpOnly cookie token (only its hash
// is stored); API clients get a short-lived access token and a refresh token that rotates on use.
// Reusing an old refresh token revokes the whole session. A refresh never makes a session fresher.
import { Types, type Model } from "mongoose";
import type { SessionData, SessionDelivery } from "../db/session.model.js";
import type { UserData } from "../db/user.model.js";
import { AppError, defineErrors } from "./errors.js";
import { addSeconds, type Clock } from "./clock.js";
import { randomToken, sha256 } from "./crypto.js";
import type { AccessTokens, RefreshTokens } from "./tokens.js";
import type { AuthState, AuthStateStore, LeanUser } from "./auth-state.js";
import type { Claims } from "./claims.js";
import type { EventBus } from "./events.js";

export const SESSION = defineErrors({
  REFRESH_TOKEN_INVALID: "The refresh token is not valid.",
});

export interface ClientInfo {
  ip: string;
  userAgent: string;
}

export interface IssuedTokens {
  accessToken: string;
  accessTokenExpiresAt: Date;
  refreshToken: string;
}

export interface StartedSession {
  session: SessionData;
  cookieToken: string;
  tokens: IssuedTokens | null;
}

export class SessionService {
  constructor(
    private readonly Session: Model<SessionData>,
    private readonly access: AccessTokens,
    private readonly refreshTokens: RefreshTokens,
    private readonly state: AuthStateStore,
    private readonly claims: Claims,
    private readonly events: EventBus,
    private readonly clock: Clock,
    private readonly ttl: { absoluteTtlSeconds: number; idleTtlSeconds: number },
  ) {}

  async scopesOf(user: Pick<UserData, "roles">): Promise<string[]> {
    const perms = await this.state.roles.permissionsOf(user.roles);
    return [...user.roles.map((r) => `role:${r}`), ...perms.map((p) => `perm:${p}`)];
  }

  async start(user: LeanUser, opts: { delivery: SessionDelivery; amr: string[]; client: ClientInfo }): Promise<StartedSession> {
    const now = this.clock.now();
    const cookieToken = randomToken();
    const session = (
      await this.Session.create({
        _id: new Types.ObjectId(),
        userId: user._id,
        uniquifier: user.uniquifier,
        tokenHash: sha256(cookieToken),
        delivery: opts.delivery,
        refreshGeneration: 0,
        createdAt: now,
        lastSeenAt: now,
        expiresAt: addSeconds(now, this.ttl.absoluteTtlSeconds),
        idleExpiresAt: addSeconds(now, this.ttl.idleTtlSeconds),
        authTime: now,
        freshAt: now,
        amr: opts.amr,
        ip: opts.client.ip.slice(0, 64),
        userAgent: opts.client.userAgent.slice(0, 256),
      })
    ).toObject();
    const tokens = opts.delivery === "tokens" ? await this.issueTokens(session, user) : null;
    return { session, cookieToken, tokens };
  }

  async issueTokens(session: SessionData, user: LeanUser): Promise<IssuedTokens> {
    const { token, expiresAt } = await this.access.sign(
      { sub: String(user._id), sid: String(session._id), authTime: session.authTime, amr: session.amr, scopes: await this.scopesOf(user) },
      this.clock.now(),
    );
    return { accessToken: token, accessTokenExpiresAt: expiresAt, refreshToken: this.refreshTokens.make(String(session._id), session.refreshGeneration, user.uniquifier) };
  }

  /** Rotates a refresh token. Each generation is claimed once; a second use revokes the session. */
  async refresh(token: string): Promise<{ state: AuthState; tokens: IssuedTokens }> {
    const invalid = () => new AppError(SESSION.REFRESH_TOKEN_INVALID);
    const parsed = this.refreshTokens.parse(token);
    if (!parsed) throw invalid();
    const state = await this.state.bySessionId(parsed.sid);
    if (!state || !this.refreshTokens.matches(parsed, state.user.uniquifier) || state.session.delivery !== "tokens") throw invalid();
    if (this.state.deadReason(state)) throw invalid();
    const current = state.session.refreshGeneration;
    const firstUse = parsed.generation === current && (await this.claims.once(`refresh:${parsed.sid}:${parsed.generation}`, this.ttl.absoluteTtlSeconds));
    if (!firstUse) {
      if (parsed.generation <= current) {
        await this.revoke(state, "refresh_token_reused");
        this.events.emit("refreshToken.reused", { userId: String(state.user._id), sessionId: parsed.sid });
      }
      throw invalid();
    }
    const now = this.clock.now();
    const next = current + 1;
    const idleExpiresAt = addSeconds(now, this.ttl.idleTtlSeconds);
    await this.Session.updateOne({ _id: state.session._id }, { $set: { refreshGeneration: next, lastSeenAt: now, idleExpiresAt } });
    Object.assign(state.session, { refreshGeneration: next, lastSeenAt: now, idleExpiresAt });
    return { state, tokens: await this.issueTokens(state.session, state.user) };
  }

  async revoke(state: AuthState, reason: string): Promise<void> {
    const now = this.clock.now();
    await this.Session.updateOne({ _id: state.session._id }, { $set: { revokedAt: now, revokedReason: reason } });
    state.session.revokedAt = now;
    await this.state.publish("session", String(state.session._id));
    this.events.emit("session.revoked", { userId: String(state.user._id), sessionId: String(state.session._id), reason });
  }

  /** Revokes every live session of a user, optionally sparing one (the caller's own). */
  async revokeAllOf(userId: Types.ObjectId | string, reason: string, exceptSessionId?: string): Promise<number> {
    const filter: Record<string, unknown> = { userId, revokedAt: null };
    if (exceptSessionId) filter._id = { $ne: new Types.ObjectId(exceptSessionId) };
    const res = await this.Session.updateMany(filter, { $set: { revokedAt: this.clock.now(), revokedReason: reason } });
    await this.state.publish("user", String(userId));
    return res.modifiedCount;
  }

  async markFresh(state: AuthState, method: string): Promise<Date> {
    const now = this.clock.now();
    const amr = state.session.amr.includes(method) ? state.session.amr : [...state.session.amr, method];
    await this.Session.updateOne({ _id: state.session._id }, { $set: { freshAt: now, amr } });
    Object.assign(state.session, { freshAt: now, amr });
    await this.state.publish("session", String(state.session._id));
    return now;
  }

  listLive(userId: Types.ObjectId): Promise<SessionData[]> {
    const now = this.clock.now();
    return this.Session.find({ userId, revokedAt: null, expiresAt: { $gt: now }, idleExpiresAt: { $gt: now } })
      .sort({ createdAt: -1 })
      .limit(200)
      .lean();
  }

  async sweep(): Promise<void> {
    await this.Session.deleteMany({ expiresAt: { $lt: addSeconds(this.clock.now(), -86_400) } });
  }
}
