// A real server for one test file: the app over real HTTP on a free port, backed by the real
// database engine (its own database), with a client that speaks GraphQL over fetch.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { inject } from "vitest";
import { loadConfig, type Config } from "../../src/config/index.js";
import { createLogger } from "../../src/core/logger.js";
import { startServer, type RunningServer } from "../../src/server.js";
import type { Clock } from "../../src/core/clock.js";
import type { Json } from "./json.js";

export interface GqlResponse<T = Record<string, Json>> {
  status: number;
  data: T | null;
  errors: Array<{ message: string; path?: string[]; extensions?: Record<string, Json> }> | undefined;
  headers: Headers;
  /** Set-Cookie name=value pairs of the response. */
  cookies: Record<string, string>;
  raw: string;
}

export interface CallOptions {
  token?: string;
  cookie?: string;
  headers?: Record<string, string>;
}

export interface TestServer {
  url: string;
  config: Config;
  running: RunningServer;
  gql<T = Record<string, Json>>(query: string, variables?: Record<string, unknown>, opts?: CallOptions): Promise<GqlResponse<T>>;
  post(body: string, headers: Record<string, string>): Promise<Response>;
  close(): Promise<void>;
}

export const TEST_PASSWORD = "correct horse battery";

export interface TestServerOptions {
  /** Use this database instead of a fresh one (e.g. a second server sharing the first one's data). */
  dbName?: string;
}

export async function startTestServer(overrides: Record<string, unknown> = {}, clock?: Clock, opts: TestServerOptions = {}): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), "gqlauth-srv-"));
  const base = {
    env: "test",
    dataDir,
    http: { host: "127.0.0.1", port: 0 },
    database: { uri: inject("mongoUri") },
    log: { level: process.env.TEST_LOG_LEVEL ?? "silent" },
    passwords: { bcryptCost: 4 },
    // Every test client comes from 127.0.0.1: per-client limits are raised here and tested on
    // their own servers; per-identity limits keep their defaults.
    rateLimit: { loginPerClient: 100_000, registerPerClient: 100_000 },
    // Suites that register and sign in at once; confirmation is tested with it required in
    // test/features/confirmation*.test.ts.
    confirmation: { requiredForLogin: false },
  };
  const config = loadConfig(deepMerge(base, overrides), {});
  const running = await startServer({ config, log: createLogger(config.log.level), dbName: opts.dbName ?? `t_${randomBytes(6).toString("hex")}`, ...(clock ? { clock } : {}) });
  await running.ready;
  const endpoint = `${running.url}/graphql`;
  const server: TestServer = {
    url: running.url,
    config,
    running,
    async gql(query, variables, opts = {}) {
      const headers: Record<string, string> = { "content-type": "application/json", ...opts.headers };
      if (opts.token) headers.authorization = `Bearer ${opts.token}`;
      if (opts.cookie) headers.cookie = `${config.sessions.cookieName}=${opts.cookie}`;
      const res = await fetch(endpoint, { method: "POST", headers, body: JSON.stringify({ query, variables }) });
      const raw = await res.text();
      let body: { data?: unknown; errors?: GqlResponse["errors"] } = {};
      try {
        body = JSON.parse(raw) as typeof body;
      } catch {
        // non-JSON answers are asserted through raw/status
      }
      const cookies: Record<string, string> = {};
      for (const c of res.headers.getSetCookie()) {
        const [pair] = c.split(";");
        const i = (pair ?? "").indexOf("=");
        if (i > 0) cookies[(pair as string).slice(0, i)] = (pair as string).slice(i + 1);
      }
      return { status: res.status, data: (body.data ?? null) as never, errors: body.errors, headers: res.headers, cookies, raw };
    },
    post: (body, headers) => fetch(endpoint, { method: "POST", headers, body }),
    close: () => running.close(),
  };
  return server;
}

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const cur = out[k];
    out[k] = v && typeof v === "object" && !Array.isArray(v) && cur && typeof cur === "object" ? deepMerge(cur as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return out;
}

let counter = 0;
export const uniqueEmail = (prefix = "user"): string => `${prefix}.${Date.now().toString(36)}${(counter++).toString(36)}${randomBytes(2).toString("hex")}@example.com`;

// ---- common operations ------------------------------------------------------------------------

export const REGISTER = /* GraphQL */ `
  mutation Register($input: RegisterInput!) {
    register(input: $input) { __typename ... on RegistrationAccepted { accepted message } ... on SignedIn { user { id email } } }
  }`;

export const LOGIN = /* GraphQL */ `
  mutation Login($input: LoginInput!) {
    login(input: $input) {
      __typename
      ... on SignedIn {
        user { id email username roles { name permissions } permissions loginTracking { loginCount lastLoginAt currentLoginAt currentLoginIp } }
        session { id current methods delivery }
        tokens { accessToken accessTokenExpiresAt refreshToken tokenType }
      }
    }
  }`;

export const ME = /* GraphQL */ `query { me { id email username active roles { name } permissions loginTracking { loginCount } } }`;

export interface SignedInUser {
  id: string;
  email: string;
  accessToken: string;
  refreshToken: string;
  sessionId: string;
}

export async function registerUser(s: TestServer, opts: { email?: string; password?: string; username?: string } = {}): Promise<{ email: string; password: string }> {
  const email = opts.email ?? uniqueEmail();
  const password = opts.password ?? TEST_PASSWORD;
  const r = await s.gql(REGISTER, { input: { email, password, ...(opts.username ? { username: opts.username } : {}) } });
  if (r.errors) throw new Error(`register failed: ${JSON.stringify(r.errors)}`);
  return { email, password };
}

/**
 * A registered user whose address counts as confirmed (as if the confirmation link was opened):
 * mailbox sign-ins (magic links, mailed codes) go to confirmed addresses only.
 */
export async function registerConfirmedUser(s: TestServer, opts: { email?: string; password?: string; username?: string } = {}): Promise<{ email: string; password: string }> {
  const out = await registerUser(s, opts);
  const user = await s.running.app.users.findByEmailKey(out.email.toLowerCase());
  if (!user) throw new Error(`no user ${out.email}`);
  await s.running.app.users.update(user._id, { $set: { confirmedAt: new Date() } });
  await s.running.app.authState.publish("user", String(user._id));
  return out;
}

export async function loginTokens(s: TestServer, identity: string, password = TEST_PASSWORD): Promise<SignedInUser> {
  const r = await s.gql(LOGIN, { input: { identity, password, delivery: "TOKENS" } });
  if (r.errors || !r.data) throw new Error(`login failed: ${JSON.stringify(r.errors)}`);
  const l = r.data.login;
  return { id: l.user.id, email: l.user.email, accessToken: l.tokens.accessToken, refreshToken: l.tokens.refreshToken, sessionId: l.session.id };
}

export async function loginCookie(s: TestServer, identity: string, password = TEST_PASSWORD): Promise<{ id: string; cookie: string }> {
  const r = await s.gql(LOGIN, { input: { identity, password } });
  if (r.errors || !r.data) throw new Error(`login failed: ${JSON.stringify(r.errors)}`);
  const cookie = r.cookies[s.config.sessions.cookieName];
  if (!cookie) throw new Error("no session cookie set");
  return { id: r.data.login.user.id, cookie };
}

export async function newUser(s: TestServer, opts: { username?: string } = {}): Promise<SignedInUser & { password: string }> {
  const { email, password } = await registerUser(s, opts);
  return { ...(await loginTokens(s, email, password)), password };
}

export const codeOf = (r: GqlResponse): string | undefined => r.errors?.[0]?.extensions?.code as string | undefined;

export type FieldError = { field: string; code: string; message: string };
/** The field errors of the first error (InputCheck's BAD_USER_INPUT), [] if none. */
export const fieldErrors = (r: { errors?: Array<{ extensions?: Record<string, unknown> }> | undefined }): FieldError[] =>
  (r.errors?.[0]?.extensions?.fieldErrors as FieldError[] | undefined) ?? [];

/** Makes a user an administrator directly in the database (as an operator with the CLI would). */
export async function makeAdmin(s: TestServer, id: string): Promise<void> {
  await s.running.app.models.User.updateOne({ _id: id }, { $addToSet: { roles: "admin" } });
  await s.running.app.authState.publish("user", id);
}

/** A newly registered, signed-in (so fresh) administrator. */
export async function newAdmin(s: TestServer): Promise<SignedInUser & { password: string }> {
  const u = await newUser(s);
  await makeAdmin(s, u.id);
  return u;
}
