// Finding a user from what an administrator types: an email, a username or an id.
import type { LeanUser } from "../core/auth-state.js";
import { identityLookup } from "../core/identity.js";
import { CliError, table, type Output } from "./framework.js";
import type { App } from "../app.js";

export async function resolveUser(app: App, identity: string): Promise<LeanUser> {
  const raw = identity.trim();
  if (raw.includes("@")) {
    const user = await app.features.accounts.lookup({ email: raw });
    if (user) return user;
  } else {
    // A 24-hex string is tried as an id first; usernames may look like one, so fall back to them.
    if (/^[0-9a-f]{24}$/i.test(raw)) {
      const byId = await app.models.User.findById(raw).lean();
      if (byId) return byId;
    }
    const user = await app.models.User.findOne(identityLookup(raw)).lean();
    if (user) return user;
  }
  throw new CliError(`no user with email, username or id "${identity}"`, "USER_DOES_NOT_EXIST");
}

export interface UserSummary {
  id: string;
  email: string;
  username: string | null;
  active: boolean;
  confirmedAt: string | null;
  roles: string[];
  permissions: string[];
  createdAt: string | null;
  tracking: { loginCount: number; lastLoginAt: string | null; lastLoginIp: string | null; currentLoginAt: string | null; currentLoginIp: string | null };
  liveSessions?: number;
}

const isoOrNull = (d: Date | null | undefined): string | null => (d ? new Date(d).toISOString() : null);

async function trackingOf(app: App, user: LeanUser): Promise<UserSummary["tracking"]> {
  const t = await app.models.LoginTracking.findById(user._id).lean();
  return {
    loginCount: t?.loginCount ?? 0,
    lastLoginAt: isoOrNull(t?.lastLoginAt),
    lastLoginIp: t?.lastLoginIp ?? null,
    currentLoginAt: isoOrNull(t?.currentLoginAt),
    currentLoginIp: t?.currentLoginIp ?? null,
  };
}

export async function summarize(app: App, user: LeanUser, withSessions = false): Promise<UserSummary> {
  return {
    id: String(user._id),
    email: user.email,
    username: user.username ?? null,
    active: user.active,
    confirmedAt: isoOrNull(user.confirmedAt),
    roles: [...user.roles],
    permissions: await app.authState.roles.permissionsOf(user.roles),
    createdAt: isoOrNull(user.createdAt),
    tracking: await trackingOf(app, user),
    ...(withSessions ? { liveSessions: (await app.sessions.listLive(user._id)).length } : {}),
  };
}

export function userText(u: UserSummary): string {
  const t = u.tracking;
  const rows: Array<[string, string]> = [
    ["id", u.id],
    ["email", u.email],
    ["username", u.username ?? "-"],
    ["active", u.active ? "yes" : "no"],
    ["confirmed", u.confirmedAt ?? "no"],
    ["roles", u.roles.join(", ") || "-"],
    ["permissions", u.permissions.join(", ") || "-"],
    ["created", u.createdAt ?? "-"],
    ["login count", String(t.loginCount)],
    ["last login", t.lastLoginAt ? `${t.lastLoginAt} from ${t.lastLoginIp ?? "?"}` : "-"],
    ["current login", t.currentLoginAt ? `${t.currentLoginAt} from ${t.currentLoginIp ?? "?"}` : "-"],
  ];
  if (u.liveSessions !== undefined) rows.push(["live sessions", String(u.liveSessions)]);
  return table(rows);
}

/** "<verb> <email> (<id>)" plus the user as data. */
export async function userOutput(app: App, verb: string, user: LeanUser, extra = ""): Promise<Output> {
  const summary = await summarize(app, user);
  return { text: `${verb} ${summary.email} (${summary.id})${extra}`, data: { user: summary } };
}
