// Per-process cache of "who is this session": session + user (+ role permissions), so an
// authenticated request costs no database round trip in the common case. Correctness does not
// rest on expiry alone: every write that revokes (logout, password change, deactivation, role
// change) invalidates locally at once and appends to a revocation feed that every other process
// (other instances, the CLI) reads every sessions.revocationPollMs.
import type { Model } from "mongoose";
import type { UserData } from "../db/user.model.js";
import type { SessionData } from "../db/session.model.js";
import type { RoleData } from "../db/role.model.js";
import type { RevocationData, RevocationKind } from "../db/kernel.models.js";
import { sha256 } from "./crypto.js";
import { addSeconds, type Clock } from "./clock.js";
import type { Logger } from "./logger.js";

export type LeanUser = Omit<UserData, "passwordHash">;
export type LeanSession = SessionData;

export interface AuthState {
  session: LeanSession;
  user: LeanUser;
}

export type DeadReason = "revoked" | "expired" | "inactive" | "rotated" | "unknown";

interface Entry {
  state: AuthState | null;
  loadedAt: number;
}

export class RoleDirectory {
  private roles = new Map<string, RoleData>();
  private loadedAt = 0;
  private loading: Promise<Map<string, RoleData>> | null = null;
  /** Bumped by every invalidation: a load that started before one is used once, never kept. */
  private generation = 0;
  constructor(private readonly Role: Model<RoleData>, private readonly ttlMs: number) {}

  invalidate(): void {
    this.generation++;
    this.loadedAt = 0;
    this.loading = null;
  }

  async get(): Promise<Map<string, RoleData>> {
    if (this.loadedAt !== 0 && Date.now() - this.loadedAt <= this.ttlMs) return this.roles;
    const started = this.generation;
    const load = (this.loading ??= this.Role.find()
      .lean()
      .then((docs) => {
        const roles = new Map(docs.map((r) => [r.name, r]));
        // A load that began before an invalidation answers its callers but replaces nothing.
        if (started === this.generation) {
          this.roles = roles;
          this.loadedAt = Date.now();
        }
        return roles;
      })
      .finally(() => {
        if (this.loading === load) this.loading = null;
      }));
    return load;
  }

  async permissionsOf(roleNames: string[]): Promise<string[]> {
    const roles = await this.get();
    return [...new Set(roleNames.flatMap((n) => roles.get(n)?.permissions ?? []))].sort();
  }
}

export class AuthStateStore {
  private readonly entries = new Map<string, Entry>();
  private readonly sidsByUser = new Map<string, Set<string>>();
  private readonly sidByCookie = new Map<string, string>();
  private readonly inflight = new Map<string, Promise<AuthState | null>>();
  /**
   * Bumped by every invalidation. A load that began before a revocation may have read the state
   * from before it: such a load answers its own request but is never cached, and later requests
   * do not join it.
   */
  private generation = 0;
  private pollTimer: NodeJS.Timeout | null = null;
  private feedCursor: Date;

  constructor(
    private readonly models: { User: Model<UserData>; Session: Model<SessionData>; Revocation: Model<RevocationData> },
    readonly roles: RoleDirectory,
    private readonly opts: { ttlMs: number; pollMs: number; lastSeenWriteIntervalSeconds: number; idleTtlSeconds: number; maxEntries?: number },
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {
    this.feedCursor = clock.now();
  }

  /** Checks a loaded state against the clock; null if the session may be used. */
  deadReason(state: AuthState | null): DeadReason | null {
    if (!state) return "unknown";
    const now = this.clock.now();
    const { session, user } = state;
    if (session.revokedAt) return "revoked";
    if (session.expiresAt <= now || session.idleExpiresAt <= now) return "expired";
    if (!user.active) return "inactive";
    if (session.uniquifier !== user.uniquifier) return "rotated";
    return null;
  }

  async byCookieToken(token: string): Promise<AuthState | null> {
    const hash = sha256(token);
    let sid = this.sidByCookie.get(hash);
    if (!sid) {
      const s = await this.models.Session.findOne({ tokenHash: hash }).select("_id").lean();
      if (!s) return null;
      sid = String(s._id);
      if (this.sidByCookie.size > 100_000) this.sidByCookie.clear();
      this.sidByCookie.set(hash, sid);
    }
    return this.bySessionId(sid);
  }

  async bySessionId(sid: string): Promise<AuthState | null> {
    const e = this.entries.get(sid);
    if (e && Date.now() - e.loadedAt < this.opts.ttlMs) return e.state;
    let p = this.inflight.get(sid);
    if (!p) {
      p = this.load(sid).finally(() => this.inflight.delete(sid));
      this.inflight.set(sid, p);
    }
    return p;
  }

  private async load(sid: string): Promise<AuthState | null> {
    const started = this.generation;
    const session = await this.models.Session.findById(sid).lean();
    const user = session ? await this.models.User.findById(session.userId).lean() : null;
    const state = session && user ? { session, user } : null;
    if (started !== this.generation) return state;
    if (this.entries.size >= (this.opts.maxEntries ?? 50_000)) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(sid, { state, loadedAt: Date.now() });
    if (state) {
      const uid = String(state.user._id);
      const set = this.sidsByUser.get(uid) ?? new Set<string>();
      set.add(sid);
      this.sidsByUser.set(uid, set);
    }
    return state;
  }

  /** Slides the idle expiry, writing at most once per lastSeenWriteIntervalSeconds. */
  touch(state: AuthState): void {
    const now = this.clock.now();
    if (now.getTime() - state.session.lastSeenAt.getTime() < this.opts.lastSeenWriteIntervalSeconds * 1000) return;
    const idleExpiresAt = addSeconds(now, this.opts.idleTtlSeconds);
    state.session.lastSeenAt = now;
    state.session.idleExpiresAt = idleExpiresAt;
    this.models.Session.updateOne({ _id: state.session._id }, { $set: { lastSeenAt: now, idleExpiresAt } })
      .exec()
      .catch((err: unknown) => this.log.warn({ err: (err as Error).message }, "could not record session activity"));
  }

  // ---- invalidation -------------------------------------------------------------------------

  private applyLocal(kind: RevocationKind, target: string): void {
    this.generation++;
    this.inflight.clear();
    if (kind === "session") this.entries.delete(target);
    else if (kind === "user") {
      for (const sid of this.sidsByUser.get(target) ?? []) this.entries.delete(sid);
      this.sidsByUser.delete(target);
    } else this.roles.invalidate();
  }

  /** Invalidates here at once and tells every other process through the feed. */
  async publish(kind: RevocationKind, target: string): Promise<void> {
    this.applyLocal(kind, target);
    await this.models.Revocation.create({ kind, target, at: this.clock.now() });
  }

  /** Forgets local copies only (e.g. after a login changed tracking fields). */
  forgetUser(userId: string): void {
    this.applyLocal("user", userId);
  }

  startFeed(): void {
    const tick = async () => {
      const since = new Date(this.feedCursor.getTime() - 5_000);
      this.feedCursor = this.clock.now();
      try {
        const docs = await this.models.Revocation.find({ at: { $gte: since } }).lean();
        for (const d of docs) this.applyLocal(d.kind, d.target);
      } catch {
        // database down: the TTL still bounds staleness; the next tick retries.
        this.feedCursor = since;
      }
    };
    this.pollTimer = setInterval(() => void tick(), this.opts.pollMs);
    this.pollTimer.unref();
  }

  async sweepFeed(): Promise<void> {
    await this.models.Revocation.deleteMany({ at: { $lt: addSeconds(this.clock.now(), -3600) } });
  }

  stop(): void {
    if (this.pollTimer) clearInterval(this.pollTimer);
  }
}
