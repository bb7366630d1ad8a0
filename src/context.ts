// The one GraphQLContext type and its builder: turns a bearer token or the session cookie into a
// viewer. A bad or dead credential does not fail the request by itself: @public fields still work,
// and protected ones answer UNAUTHENTICATED with the reason.
import type { IncomingHttpHeaders } from "node:http";
import DataLoader from "dataloader";
import { Types } from "mongoose";
import type { App } from "./app.js";
import type { Config } from "./config/index.js";
import type { Logger } from "./core/logger.js";
import { CookieJar, parseCookies } from "./core/cookies.js";
import type { ClientInfo } from "./core/sessions.js";
import type { Viewer } from "./core/viewer.js";
import type { AuthState, LeanUser } from "./core/auth-state.js";
import type { AuthzContext } from "./core/authz.js";
import type { SignedInResult } from "./core/sign-in.js";
import type { LoginTrackingData } from "./db/login-tracking.model.js";

export interface Loaders {
  user: DataLoader<string, LeanUser | null>;
  tracking: DataLoader<string, LoginTrackingData | null>;
}

export interface GraphQLContext extends AuthzContext {
  app: App;
  config: Config;
  log: Logger;
  client: ClientInfo;
  cookies: CookieJar;
  loaders: Loaders;
}

function createLoaders(app: App): Loaders {
  return {
    user: new DataLoader(async (ids: readonly string[]) => {
      const valid = ids.filter((id) => Types.ObjectId.isValid(id));
      const docs = await app.models.User.find({ _id: { $in: valid } }).lean();
      const byId = new Map(docs.map((d) => [String(d._id), d as LeanUser]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
    tracking: new DataLoader(async (ids: readonly string[]) => {
      const docs = await app.models.LoginTracking.find({ _id: { $in: ids.filter((id) => Types.ObjectId.isValid(id)) } }).lean();
      const byId = new Map(docs.map((d) => [String(d._id), d]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
  };
}

async function resolveCredential(app: App, headers: IncomingHttpHeaders, cookies: CookieJar): Promise<{ state: AuthState | null; via: Viewer["via"]; failure: string | null } | null> {
  const auth = headers.authorization;
  if (auth) {
    const m = /^Bearer ([A-Za-z0-9_.-]{1,4096})$/.exec(auth);
    if (!m?.[1]) return { state: null, via: "bearer", failure: "invalid" };
    const claims = await app.access.verify(m[1]);
    if (typeof claims === "string") return { state: null, via: "bearer", failure: claims };
    const state = Types.ObjectId.isValid(claims.sid) ? await app.authState.bySessionId(claims.sid) : null;
    if (state && String(state.user._id) !== claims.sub) return { state: null, via: "bearer", failure: "invalid" };
    return { state, via: "bearer", failure: null };
  }
  const token = cookies.session;
  if (token && /^[A-Za-z0-9_-]{20,100}$/.test(token)) return { state: await app.authState.byCookieToken(token), via: "cookie", failure: null };
  return null;
}

export async function buildContext(app: App, req: { headers: IncomingHttpHeaders; ip: string }): Promise<GraphQLContext> {
  const cookies = new CookieJar(parseCookies(req.headers.cookie), app.config.sessions);
  const client = { ip: req.ip, userAgent: String(req.headers["user-agent"] ?? "").slice(0, 256) };
  const base = { app, config: app.config, log: app.log, clock: app.clock, client, cookies, loaders: createLoaders(app) };
  const cred = await resolveCredential(app, req.headers, cookies);
  if (!cred) return { ...base, viewer: null, authFailure: null };
  const dead = cred.failure ?? app.authState.deadReason(cred.state);
  if (dead || !cred.state) return { ...base, viewer: null, authFailure: dead ?? "unknown" };
  app.authState.touch(cred.state);
  return { ...base, viewer: await viewerFromState(app, cred.state, cred.via), authFailure: null };
}

async function viewerFromState(app: App, state: AuthState, via: Viewer["via"]): Promise<Viewer> {
  const scopes = new Set(await app.sessions.scopesOf(state.user));
  return { userId: String(state.user._id), user: state.user, session: state.session, state, scopes, via };
}

/**
 * After a sign-in inside this request, the rest of the request (e.g. the fields selected on the
 * SignedIn payload) runs as the new session.
 */
export async function adoptSignIn<T extends { __typename: string }>(ctx: GraphQLContext, result: T): Promise<T> {
  if (result.__typename === "SignedIn") {
    const { user, session, tokens } = result as unknown as SignedInResult;
    ctx.viewer = await viewerFromState(ctx.app, { user, session }, tokens ? "bearer" : "cookie");
    ctx.authFailure = null;
  }
  return result;
}

/** Narrows ctx.viewer for resolvers behind @authenticated (shield has already checked). */
export function viewerOf(ctx: GraphQLContext): Viewer {
  if (!ctx.viewer) throw new Error("resolver reached without a viewer: its field lacks @authenticated");
  return ctx.viewer;
}
