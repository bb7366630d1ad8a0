// Bad input gets a clear error and loses nothing: operator injection into every input, wrong types,
// empty and oversized values, unknown fields, transport tricks (CSRF, GET mutations, batching),
// document limits, error masking and production hardening. Everything goes over real HTTP to a real
// server; "nothing happened" is checked in the database itself before and after each attempt.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  startTestServer,
  newAdmin,
  newUser,
  registerUser,
  loginTokens,
  loginCookie,
  LOGIN,
  ME,
  REGISTER,
  TEST_PASSWORD,
  codeOf,
  uniqueEmail,
  type GqlResponse,
  type SignedInUser,
  type TestServer,
} from "../support/server.js";
import { startSmtpServer, type TestSmtpServer } from "../support/smtp.js";

// ---- every response of this file is checked for leaks ------------------------------------------

/** Stack traces, driver names and text, duplicate-key errors, absolute file paths. */
const LEAK = /stack|Mongo|E11000|node_modules|(?:^|[\s"'(=])\/(?:[\w.-]+\/)+[\w.-]+|\.[cm]?[jt]s:\d+/;

function assertNoLeak(raw: string): void {
  const m = LEAK.exec(raw);
  if (m) throw new Error(`response leaks internals (${JSON.stringify(m[0])}): ${raw.slice(0, 500)}`);
}

/** Wraps a test server so every response it returns is checked for leaks first. */
function guarded(t: TestServer): TestServer {
  const gql = t.gql.bind(t);
  const post = t.post.bind(t);
  return {
    ...t,
    gql: (async (query: string, variables?: Record<string, unknown>, opts?: Parameters<TestServer["gql"]>[2]) => {
      const r = await gql(query, variables, opts);
      assertNoLeak(r.raw);
      return r;
    }) as TestServer["gql"],
    post: async (body, headers) => {
      const r = await post(body, headers);
      const text = await r.text();
      assertNoLeak(text);
      return new Response(text, { status: r.status, headers: r.headers });
    },
  };
}

/** A raw request to /graphql (any method, headers, body), leak-checked. */
async function http(t: TestServer, init: RequestInit & { search?: string }): Promise<{ status: number; text: string; body: { errors?: Array<{ message: string; extensions?: { code?: string } }>; data?: unknown } }> {
  const res = await fetch(`${t.url}/graphql${init.search ?? ""}`, init);
  const text = await res.text();
  assertNoLeak(text);
  let body = {};
  try {
    body = JSON.parse(text) as object;
  } catch {
    // non-JSON answers are asserted through status/text
  }
  return { status: res.status, text, body };
}

const secrets = { pepper: "p".repeat(40), tokenKey: "t".repeat(40), encryptionKey: "e".repeat(40) };

let s: TestServer;
let admin: SignedInUser;
/** A plain user that hostile inputs aim at (lookups, grants, wrong passwords). */
let victim: SignedInUser & { password: string; username: string };
let verifier: SignedInUser;
let changer: SignedInUser;
let sessionOwner: SignedInUser;


let seq = 0;
const uniqueName = (prefix: string): string => `${prefix}${Date.now().toString(36)}${(seq++).toString(36)}`;

beforeAll(async () => {
  s = guarded(await startTestServer());
  admin = await newAdmin(s);
  const username = uniqueName("victim");
  victim = { ...(await newUser(s, { username })), username };
  verifier = await newUser(s);
  changer = await newUser(s);
  sessionOwner = await newUser(s);
});
afterAll(() => s?.close());

/**
 * The state hostile input must not change: users (identity, password hash, active, uniquifier,
 * roles, login count), roles, sessions (revocation, refresh generation, freshness), identifiers.
 */
async function snapshot(t: TestServer = s): Promise<string> {
  const m = t.running.app.models;
  const [users, roles, sessions, identifiers] = await Promise.all([
    m.User.find().select("+passwordHash").sort({ _id: 1 }).lean(),
    m.Role.find().sort({ name: 1 }).lean(),
    m.Session.find().sort({ _id: 1 }).lean(),
    m.Identifier.find().sort({ _id: 1 }).lean(),
  ]);
  return JSON.stringify({
    users: users.map((u) => [String(u._id), u.emailKey, u.usernameKey, u.passwordHash, u.active, u.uniquifier, [...u.roles].sort()]),
    roles: roles.map((r) => [r.name, r.description, [...r.permissions].sort()]),
    sessions: sessions.map((x) => [String(x._id), String(x.userId), x.revokedAt ? "revoked" : "live", x.refreshGeneration, new Date(x.freshAt).getTime()]),
    identifiers: identifiers.map((i) => [i._id, String(i.userId)]),
  });
}

const fieldsOf = (r: GqlResponse): string[] => ((r.errors?.[0]?.extensions?.fieldErrors ?? []) as Array<{ field: string }>).map((f) => f.field);

function expectCode(r: GqlResponse, code: string, field?: string): void {
  expect(codeOf(r), r.raw).toBe(code);
  expect(r.status, r.raw).toBeLessThan(500);
  if (field) expect(fieldsOf(r), r.raw).toContain(field);
}

/** Refused by GraphQL's own input coercion before any resolver ran. */
function expectCoercionRefusal(r: GqlResponse): void {
  expect(r.status, r.raw).toBe(400);
  expect(codeOf(r), r.raw).toBe("BAD_USER_INPUT");
  expect(r.data).toBeNull();
}

const isValidPassword = (v: string): boolean => [...v.normalize("NFKD")].length >= 8 && !/[\u0000-\u0008\u000a-\u001f\u007f]/.test(v);

// ---- every input path --------------------------------------------------------------------------

const DOCS = {
  register: REGISTER,
  login: LOGIN,
  refreshToken: `mutation($input: RefreshTokenInput!) { refreshToken(input: $input) { accessToken refreshToken } }`,
  verifyPassword: `mutation($input: VerifyPasswordInput!) { verifyPassword(input: $input) { verifiedAt } }`,
  revokeSession: `mutation($input: RevokeSessionInput!) { revokeSession(input: $input) }`,
  changePassword: `mutation($input: ChangePasswordInput!) { changePassword(input: $input) { user { id } } }`,
  createRole: `mutation($input: CreateRoleInput!) { createRole(input: $input) { name description permissions } }`,
  grantRole: `mutation($input: RoleAssignmentInput!) { grantRole(input: $input) { id roles { name } } }`,
  revokeRole: `mutation($input: RoleAssignmentInput!) { revokeRole(input: $input) { id roles { name } } }`,
  addPermissions: `mutation($input: RolePermissionsInput!) { addPermissions(input: $input) { name permissions } }`,
  removePermissions: `mutation($input: RolePermissionsInput!) { removePermissions(input: $input) { name permissions } }`,
  user: `query($input: UserLookupInput!) { user(input: $input) { id email } }`,
  setUserActive: `mutation($input: SetUserActiveInput!) { setUserActive(input: $input) { id active } }`,
  resetUserAccess: `mutation($input: ResetUserAccessInput!) { resetUserAccess(input: $input) { id } }`,
} as const;

type Op = keyof typeof DOCS;

/** What one value must lead to. */
type Outcome =
  | { code: string; field?: string }
  /** A lookup that finds nothing. */
  | { found: "nothing" }
  /** A legitimate change the caller is allowed to make with this literal string (checked by `accepted`). */
  | { accepted: true };

interface Ctx {
  token?: string;
  user?: SignedInUser;
  email?: string;
  role?: string;
}

interface Target {
  op: Op;
  field: string;
  kind: "string" | "id" | "list";
  /** Fresh fixtures for one attempt (default: the shared ones). */
  prepare?: () => Promise<Ctx>;
  token?: () => string;
  input: (v: unknown, c: Ctx) => Record<string, unknown>;
  /** A hostile but well-typed string. */
  plain: (v: string) => Outcome;
  empty: Outcome;
  big: Outcome;
  /** Checks after an { accepted: true } outcome. */
  accepted?: (r: GqlResponse, v: string, c: Ctx) => Promise<void>;
}

const refused = (code: string, field?: string): Outcome => (field ? { code, field } : { code });
const BAD = "BAD_USER_INPUT";

const TARGETS: Target[] = [
  {
    op: "register", field: "email", kind: "string",
    input: (v) => ({ email: v, password: TEST_PASSWORD }),
    plain: () => refused(BAD, "email"), empty: refused(BAD, "email"), big: refused(BAD, "email"),
  },
  {
    op: "register", field: "password", kind: "string",
    prepare: async () => ({ email: uniqueEmail("regpw") }),
    input: (v, c) => ({ email: c.email, password: v }),
    plain: (v) => (isValidPassword(v) ? { accepted: true } : refused(BAD, "password")),
    empty: refused(BAD, "password"), big: refused(BAD, "password"),
    accepted: async (r, v, c) => {
      // Stored as that literal password: it signs in, and nothing else does.
      expect(r.data!.register.__typename, r.raw).toBe("RegistrationAccepted");
      expect(await s.running.app.models.User.countDocuments({ emailKey: c.email!.toLowerCase() })).toBe(1);
      const u = await loginTokens(s, c.email!, v);
      expect(u.email).toBe(c.email);
      expect(codeOf(await s.gql(LOGIN, { input: { identity: c.email, password: `${v}x` } }))).toBe("GENERIC_AUTHN_FAILED");
    },
  },
  {
    op: "register", field: "username", kind: "string",
    prepare: async () => ({ email: uniqueEmail("reguser") }),
    input: (v, c) => ({ email: c.email, password: TEST_PASSWORD, username: v }),
    plain: () => refused(BAD, "username"), big: refused(BAD, "username"),
    // An empty optional username is "no username".
    empty: { accepted: true },
    accepted: async (r, _v, c) => {
      expect(r.data!.register.__typename, r.raw).toBe("RegistrationAccepted");
      const u = await s.running.app.models.User.findOne({ emailKey: c.email!.toLowerCase() }).lean();
      expect(u?.username ?? null).toBeNull();
    },
  },
  {
    op: "login", field: "identity", kind: "string",
    // The password every test user has: only a real identity match could sign in.
    input: (v) => ({ identity: v, password: TEST_PASSWORD, delivery: "TOKENS" }),
    plain: () => refused("GENERIC_AUTHN_FAILED"), empty: refused(BAD, "identity"), big: refused(BAD, "identity"),
  },
  {
    op: "login", field: "password", kind: "string",
    input: (v) => ({ identity: victim.email, password: v, delivery: "TOKENS" }),
    plain: () => refused("GENERIC_AUTHN_FAILED"), empty: refused(BAD, "password"), big: refused(BAD, "password"),
  },
  {
    op: "refreshToken", field: "refreshToken", kind: "string",
    input: (v) => ({ refreshToken: v }),
    plain: () => refused("REFRESH_TOKEN_INVALID"), empty: refused("REFRESH_TOKEN_INVALID"), big: refused(BAD, "refreshToken"),
  },
  {
    op: "verifyPassword", field: "password", kind: "string",
    token: () => verifier.accessToken,
    input: (v) => ({ password: v }),
    plain: () => refused("INVALID_PASSWORD"), empty: refused(BAD, "password"), big: refused(BAD, "password"),
  },
  {
    op: "revokeSession", field: "id", kind: "id",
    token: () => sessionOwner.accessToken,
    input: (v) => ({ id: v }),
    plain: () => refused("NOT_FOUND"), empty: refused("NOT_FOUND"), big: refused("NOT_FOUND"),
  },
  {
    op: "changePassword", field: "currentPassword", kind: "string",
    token: () => changer.accessToken,
    input: (v) => ({ currentPassword: v, newPassword: "a brand new password" }),
    plain: () => refused("INVALID_PASSWORD"), empty: refused(BAD, "currentPassword"), big: refused(BAD, "currentPassword"),
  },
  {
    op: "changePassword", field: "newPassword", kind: "string",
    // An accepted new password ends the user's sessions: a fresh user for every attempt.
    prepare: async () => {
      const u = await newUser(s);
      return { user: u, token: u.accessToken };
    },
    input: (v) => ({ currentPassword: TEST_PASSWORD, newPassword: v }),
    plain: (v) => (isValidPassword(v) ? { accepted: true } : refused(BAD, "newPassword")),
    empty: refused(BAD, "newPassword"), big: refused(BAD, "newPassword"),
    accepted: async (r, v, c) => {
      expect(r.data?.changePassword.user.id, r.raw).toBe(c.user!.id);
      expect((await loginTokens(s, c.user!.email, v)).id).toBe(c.user!.id);
      expect(codeOf(await s.gql(LOGIN, { input: { identity: c.user!.email, password: TEST_PASSWORD } }))).toBe("GENERIC_AUTHN_FAILED");
    },
  },
  {
    op: "createRole", field: "name", kind: "string",
    token: () => admin.accessToken,
    input: (v) => ({ name: v, description: "d", permissions: ["p.one"] }),
    plain: () => refused(BAD, "name"), empty: refused(BAD, "name"), big: refused(BAD, "name"),
  },
  {
    op: "createRole", field: "description", kind: "string",
    token: () => admin.accessToken,
    prepare: async () => ({ role: uniqueName("desc") }),
    input: (v, c) => ({ name: c.role, description: v, permissions: [] }),
    // Any text is a fine description, stored as it is.
    plain: () => ({ accepted: true }), empty: { accepted: true }, big: refused(BAD, "description"),
    accepted: async (r, v, c) => {
      expect(r.data?.createRole, r.raw).toEqual({ name: c.role, description: v, permissions: [] });
      const stored = await s.running.app.models.Role.findOne({ name: c.role }).lean();
      expect(stored?.description).toBe(v);
      expect(stored?.permissions).toEqual([]);
    },
  },
  {
    op: "createRole", field: "permissions", kind: "list",
    token: () => admin.accessToken,
    prepare: async () => ({ role: uniqueName("perm") }),
    input: (v, c) => ({ name: c.role, permissions: v }),
    plain: () => refused(BAD, "permissions.0"), empty: refused(BAD, "permissions.0"), big: refused(BAD, "permissions.0"),
  },
  {
    op: "grantRole", field: "userId", kind: "id",
    token: () => admin.accessToken,
    input: (v) => ({ userId: v, role: "admin" }),
    plain: () => refused("USER_DOES_NOT_EXIST"), empty: refused("USER_DOES_NOT_EXIST"), big: refused("USER_DOES_NOT_EXIST"),
  },
  {
    op: "grantRole", field: "role", kind: "string",
    token: () => admin.accessToken,
    input: (v) => ({ userId: victim.id, role: v }),
    plain: () => refused(BAD, "role"), empty: refused(BAD, "role"), big: refused(BAD, "role"),
  },
  {
    op: "revokeRole", field: "userId", kind: "id",
    token: () => admin.accessToken,
    input: (v) => ({ userId: v, role: "user" }),
    plain: () => refused("USER_DOES_NOT_EXIST"), empty: refused("USER_DOES_NOT_EXIST"), big: refused("USER_DOES_NOT_EXIST"),
  },
  {
    op: "revokeRole", field: "role", kind: "string",
    token: () => admin.accessToken,
    input: (v) => ({ userId: victim.id, role: v }),
    plain: () => refused(BAD, "role"), empty: refused(BAD, "role"), big: refused(BAD, "role"),
  },
  {
    op: "addPermissions", field: "role", kind: "string",
    token: () => admin.accessToken,
    input: (v) => ({ role: v, permissions: ["extra.perm"] }),
    plain: () => refused(BAD, "role"), empty: refused(BAD, "role"), big: refused(BAD, "role"),
  },
  {
    op: "addPermissions", field: "permissions", kind: "list",
    token: () => admin.accessToken,
    input: (v) => ({ role: "user", permissions: v }),
    plain: () => refused(BAD, "permissions.0"), empty: refused(BAD, "permissions.0"), big: refused(BAD, "permissions.0"),
  },
  {
    op: "removePermissions", field: "role", kind: "string",
    token: () => admin.accessToken,
    input: (v) => ({ role: v, permissions: ["user-read"] }),
    plain: () => refused(BAD, "role"), empty: refused(BAD, "role"), big: refused(BAD, "role"),
  },
  {
    op: "removePermissions", field: "permissions", kind: "list",
    token: () => admin.accessToken,
    input: (v) => ({ role: "user", permissions: v }),
    plain: () => refused(BAD, "permissions.0"), empty: refused(BAD, "permissions.0"), big: refused(BAD, "permissions.0"),
  },
  {
    op: "user", field: "id", kind: "id",
    token: () => admin.accessToken,
    input: (v) => ({ id: v }),
    plain: () => ({ found: "nothing" }), empty: refused(BAD, "id"), big: { found: "nothing" },
  },
  {
    op: "user", field: "email", kind: "string",
    token: () => admin.accessToken,
    input: (v) => ({ email: v }),
    plain: () => ({ found: "nothing" }), empty: refused(BAD, "id"), big: { found: "nothing" },
  },
  {
    op: "setUserActive", field: "userId", kind: "id",
    token: () => admin.accessToken,
    input: (v) => ({ userId: v, active: false }),
    plain: () => refused("USER_DOES_NOT_EXIST"), empty: refused("USER_DOES_NOT_EXIST"), big: refused("USER_DOES_NOT_EXIST"),
  },
  {
    op: "resetUserAccess", field: "userId", kind: "id",
    token: () => admin.accessToken,
    input: (v) => ({ userId: v }),
    plain: () => refused("USER_DOES_NOT_EXIST"), empty: refused("USER_DOES_NOT_EXIST"), big: refused("USER_DOES_NOT_EXIST"),
  },
];

const label = (t: Target) => `${t.op}.${t.field}`;

/** JSON values that are not strings: MongoDB operators, and other wrong types. */
const OPERATORS: unknown[] = [{ $gt: "" }, { $ne: null }, { $regex: ".*" }, { $in: ["admin", "user"] }, { $where: "1" }, { $exists: true }];
const WRONG_TYPES: unknown[] = [true, 12.5, [{ $gt: "" }], [null]];

/** Strings that look like injections; they must behave as the plain strings they are. */
const HOSTILE_STRINGS = ["$gt", '{"$ne":1}', "a@b.c' || '1'=='1", "admin\u0000", ".*", '{"$gt":""}'];

async function attempt(t: Target, v: unknown, c: Ctx): Promise<GqlResponse> {
  const token = c.token ?? t.token?.();
  return s.gql(DOCS[t.op], { input: t.input(v, c) }, token ? { token } : {});
}

async function expectOutcome(t: Target, o: Outcome, r: GqlResponse, v: string, c: Ctx): Promise<void> {
  expect(codeOf(r), r.raw).not.toBe("INTERNAL_SERVER_ERROR");
  if ("code" in o) {
    expectCode(r, o.code, o.field);
    expect(r.data?.[t.op] ?? null).toBeNull();
  } else if ("found" in o) {
    expect(r.errors, r.raw).toBeUndefined();
    expect(r.data).toEqual({ user: null });
  } else {
    expect(r.errors, r.raw).toBeUndefined();
    if (!t.accepted) throw new Error(`${label(t)} has an accepted outcome but no check for it`);
    await t.accepted(r, v, c);
  }
}

describe("operator injection: non-string JSON where a String/ID is expected", () => {
  it.each(TARGETS.map((t) => [label(t), t] as const))("%s refuses every operator object and wrong type by coercion, with no side effect", async (_l, t) => {
    const c = (await t.prepare?.()) ?? {};
    const before = await snapshot();
    const values = [...OPERATORS, ...WRONG_TYPES, ...(t.kind === "string" ? [12345] : [])];
    for (const v of values) {
      expectCoercionRefusal(await attempt(t, v, c));
      // Inside a list too (for list inputs an element, for the others a list where a scalar belongs).
      expectCoercionRefusal(await attempt(t, [v], c));
    }
    expect(await snapshot()).toBe(before);
  });

  it("setUserActive.active refuses operators, strings and numbers where a Boolean is expected", async () => {
    const before = await snapshot();
    for (const v of [...OPERATORS, "false", "true", 0, 1, null, [false]]) {
      expectCoercionRefusal(await s.gql(DOCS.setUserActive, { input: { userId: victim.id, active: v } }, { token: admin.accessToken }));
    }
    expect(await snapshot()).toBe(before);
  });

  it("an operator object or a list in place of a whole input object is refused on every path", async () => {
    const before = await snapshot();
    const ops = [...new Set(TARGETS.map((t) => t.op))];
    expect(ops).toHaveLength(14);
    for (const op of ops) {
      for (const v of [{ $ne: null }, { $where: "1" }, [{ $gt: "" }], "x", 1]) {
        expectCoercionRefusal(await s.gql(DOCS[op], { input: v }, { token: admin.accessToken }));
      }
    }
    expect(await snapshot()).toBe(before);
  });

  it("federation's _entities (an _Any scalar coercion does not guard) treats operator ids as unknown ids", async () => {
    const before = await snapshot();
    const q = `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id } } }`;
    const reps = OPERATORS.map((id) => ({ __typename: "User", id }));
    const r = await s.gql(q, { r: [...reps, { __typename: "User", id: victim.id }] }, { token: admin.accessToken });
    expect(r.errors, r.raw).toBeUndefined();
    expect(r.data!._entities).toEqual([...reps.map(() => null), { id: victim.id }]);
    expect(await snapshot()).toBe(before);
  });
});

describe("injection-looking strings are plain strings", () => {
  it.each(TARGETS.map((t) => [label(t), t] as const))("%s", async (_l, t) => {
    for (const v of HOSTILE_STRINGS) {
      const o = t.plain(v);
      const value = t.kind === "list" ? [v] : v;
      const c = (await t.prepare?.()) ?? {};
      const before = await snapshot();
      const r = await attempt(t, value, c);
      await expectOutcome(t, o, r, v, c);
      if (!("accepted" in o)) expect(await snapshot(), `${label(t)} with ${JSON.stringify(v)} changed the database`).toBe(before);
    }
  });

  it("a lookup by the exact email of a user finds it (the lookups above could find something)", async () => {
    const r = await s.gql(DOCS.user, { input: { email: victim.email.toUpperCase() } }, { token: admin.accessToken });
    expect(r.data).toEqual({ user: { id: victim.id, email: victim.email } });
  });

  it("the victim is untouched after everything aimed at it: same roles, still active, still signs in", async () => {
    const u = await s.running.app.models.User.findById(victim.id).lean();
    expect(u?.roles).toEqual(["user"]);
    expect(u?.active).toBe(true);
    expect((await loginTokens(s, victim.username)).id).toBe(victim.id);
    const me = await s.gql(ME, {}, { token: victim.accessToken });
    expect(me.data!.me.id).toBe(victim.id);
  });
});

describe("wrong types, empty strings, oversized values, unknown fields", () => {
  it("a number where a String belongs is refused by coercion (400), not stringified", async () => {
    const before = await snapshot();
    expectCoercionRefusal(await s.gql(LOGIN, { input: { identity: 12345, password: TEST_PASSWORD } }));
    expectCoercionRefusal(await s.gql(REGISTER, { input: { email: uniqueEmail(), password: 12345678 } }));
    expectCoercionRefusal(await s.gql(DOCS.createRole, { input: { name: 42 } }, { token: admin.accessToken }));
    expect(await snapshot()).toBe(before);
  });

  it("a list where an input object belongs is refused for every path", async () => {
    const before = await snapshot();
    for (const t of TARGETS) {
      const r = await s.gql(DOCS[t.op], { input: [t.input("x", {})] }, { token: admin.accessToken });
      expectCoercionRefusal(r);
      expect(r.errors![0]!.message).toMatch(/to be an object/);
    }
    expect(await snapshot()).toBe(before);
  });

  it.each(TARGETS.map((t) => [label(t), t] as const))("empty %s gets a clear answer (field error or not-found), never a crash", async (_l, t) => {
    const c = (await t.prepare?.()) ?? {};
    const before = await snapshot();
    const r = await attempt(t, t.kind === "list" ? [""] : "", c);
    await expectOutcome(t, t.empty, r, "", c);
    if (!("accepted" in t.empty)) expect(await snapshot()).toBe(before);
  });

  it.each(TARGETS.map((t) => [label(t), t] as const))("a value just under the body limit in %s is refused in well under a second, with no side effect", async (_l, t) => {
    const big = "a".repeat(s.config.http.bodyLimitBytes - 4096);
    const c = (await t.prepare?.()) ?? {};
    const before = await snapshot();
    const started = performance.now();
    const r = await attempt(t, t.kind === "list" ? [big] : big, c);
    const ms = performance.now() - started;
    expect(r.status, r.raw).not.toBe(413);
    await expectOutcome(t, t.big, r, big, c);
    expect(ms).toBeLessThan(1000);
    expect(await snapshot()).toBe(before);
  });

  it("a 1 MB password or identity is refused with 413 PAYLOAD_TOO_LARGE in well under a second", async () => {
    const before = await snapshot();
    const mb = "a".repeat(1 << 20);
    for (const input of [{ identity: victim.email, password: mb }, { identity: mb, password: TEST_PASSWORD }]) {
      const started = performance.now();
      const r = await s.gql(LOGIN, { input });
      const ms = performance.now() - started;
      expect(r.status).toBe(413);
      expect(codeOf(r)).toBe("PAYLOAD_TOO_LARGE");
      expect(r.errors![0]!.message).toBe("Request body too large.");
      expect(ms).toBeLessThan(1000);
    }
    const started = performance.now();
    const r = await s.gql(REGISTER, { input: { email: uniqueEmail(), password: mb } });
    expect(r.status).toBe(413);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(await snapshot()).toBe(before);
  });

  it("a body one byte over http.bodyLimitBytes gets 413; one at the limit is processed", async () => {
    const limit = s.config.http.bodyLimitBytes;
    const bodyOf = (padding: number) => JSON.stringify({ query: `{ health }`, variables: { pad: "x".repeat(padding) } });
    const base = Buffer.byteLength(bodyOf(0));
    const at = await s.post(bodyOf(limit - base), { "content-type": "application/json" });
    expect(at.status).toBe(200);
    expect(await at.json()).toEqual({ data: { health: true } });
    const over = await s.post(bodyOf(limit - base + 1), { "content-type": "application/json" });
    expect(over.status).toBe(413);
    expect(((await over.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]!.extensions.code).toBe("PAYLOAD_TOO_LARGE");
  });

  it("a streamed (chunked, no content-length) body over the limit also gets 413, fast", async () => {
    const before = await snapshot();
    const payload = new TextEncoder().encode(JSON.stringify({ query: LOGIN, variables: { input: { identity: "a".repeat(300_000), password: TEST_PASSWORD } } }));
    const body = new ReadableStream<Uint8Array>({
      start(ctrl) {
        for (let i = 0; i < payload.length; i += 16_384) ctrl.enqueue(payload.subarray(i, i + 16_384));
        ctrl.close();
      },
    });
    const started = performance.now();
    // `duplex` is required by Node's fetch for stream bodies but missing from the DOM typings.
    const r = await http(s, { method: "POST", headers: { "content-type": "application/json" }, body, duplex: "half" } as RequestInit);
    expect(r.status).toBe(413);
    expect(r.body.errors?.[0]?.extensions?.code).toBe("PAYLOAD_TOO_LARGE");
    expect(performance.now() - started).toBeLessThan(1000);
    expect(await snapshot()).toBe(before);
  });

  it("malformed JSON gets 400 BAD_REQUEST", async () => {
    for (const body of ["{not json", '{"query": "{ health }"', "", "null", "[", '"just a string"']) {
      const res = await s.post(body, { "content-type": "application/json" });
      const text = await res.text();
      expect(res.status, `${JSON.stringify(body)} → ${text}`).toBe(400);
      const parsed = JSON.parse(text) as { errors: Array<{ extensions: { code: string } }> };
      expect(parsed.errors[0]!.extensions.code).toBe("BAD_REQUEST");
    }
  });

  it("unknown input fields (roles, active, __proto__ …) in RegisterInput are refused by GraphQL, and nothing is created", async () => {
    const before = await snapshot();
    const extras: Array<Record<string, unknown>> = [
      { roles: ["admin"] },
      { role: "admin" },
      { permissions: ["users-admin"] },
      { active: false },
      { confirmedAt: new Date().toISOString() },
      { emailKey: "admin@example.com" },
    ];
    for (const extra of extras) {
      const email = uniqueEmail("extra");
      const viaVariables = await s.gql(REGISTER, { input: { email, password: TEST_PASSWORD, ...extra } });
      expectCoercionRefusal(viaVariables);
      expect(viaVariables.errors![0]!.message).toMatch(/is not defined by type "RegisterInput"/);
    }
    // A JSON "__proto__" key is an own property after JSON.parse: still an unknown field.
    const proto = await s.post(`{"query": ${JSON.stringify(REGISTER)}, "variables": {"input": {"email": "${uniqueEmail("proto")}", "password": "${TEST_PASSWORD}", "__proto__": {"roles": ["admin"]}}}}`, { "content-type": "application/json" });
    expect(proto.status).toBe(400);
    expect(JSON.stringify(await proto.json())).toMatch(/BAD_USER_INPUT/);
    // Written into the document itself: refused by validation.
    const inline = await s.gql(`mutation { register(input: { email: "${uniqueEmail("inline")}", password: "${TEST_PASSWORD}", roles: ["admin"] }) { __typename } }`);
    expect(inline.status).toBe(400);
    expect(codeOf(inline)).toBe("GRAPHQL_VALIDATION_FAILED");
    expect(await snapshot()).toBe(before);
    expect(({} as Record<string, unknown>).roles).toBeUndefined();
  });

  it("a normal registration gets only the default role", async () => {
    const { email } = await registerUser(s);
    const stored = await s.running.app.models.User.findOne({ emailKey: email.toLowerCase() }).lean();
    expect(stored?.roles).toEqual(s.config.registration.defaultRoles);
    expect(stored?.roles).toEqual(["user"]);
    const r = await s.gql(LOGIN, { input: { identity: email, password: TEST_PASSWORD } });
    expect(r.data!.login.user.roles.map((x: { name: string }) => x.name)).toEqual(["user"]);
    expect(r.data!.login.user.permissions).toEqual(["user-read", "user-write"]);
  });
});

describe("transport", () => {
  const registerDoc = (email: string) => `mutation { register(input: { email: "${email}", password: "${TEST_PASSWORD}" }) { __typename } }`;
  const exists = async (email: string) => (await s.running.app.models.User.countDocuments({ emailKey: email.toLowerCase() })) > 0;

  it("a text/plain (or form) POST of a mutation is refused as CSRF, with no side effect", async () => {
    for (const type of ["text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]) {
      const email = uniqueEmail("csrf");
      const res = await s.post(JSON.stringify({ query: registerDoc(email) }), { "content-type": type });
      const text = await res.text();
      expect(res.status, text).toBe(400);
      expect(text).toMatch(/Cross-Site Request Forgery/);
      expect(await exists(email)).toBe(false);
    }
    // A control: the same request as application/json does register.
    const email = uniqueEmail("csrfctl");
    const ok = await s.post(JSON.stringify({ query: registerDoc(email) }), { "content-type": "application/json" });
    expect(ok.status).toBe(200);
    expect(await exists(email)).toBe(true);
  });

  it("a cross-site text/plain POST riding the session cookie cannot log the user out", async () => {
    const { email } = await registerUser(s);
    const c = await loginCookie(s, email);
    const res = await s.post(JSON.stringify({ query: `mutation { logout }` }), { "content-type": "text/plain", cookie: `${s.config.sessions.cookieName}=${c.cookie}` });
    expect(res.status).toBe(400);
    expect((await s.gql(ME, {}, { cookie: c.cookie })).data!.me.id).toBe(c.id);
  });

  it("a GET with a mutation in the query string is refused (CSRF 400, or 405 with a preflight header), with no side effect", async () => {
    const email = uniqueEmail("get");
    const search = `?query=${encodeURIComponent(registerDoc(email))}`;
    const plain = await http(s, { method: "GET", search });
    expect(plain.status).toBe(400);
    expect(plain.text).toMatch(/Cross-Site Request Forgery/);
    const preflighted = await http(s, { method: "GET", search, headers: { "apollo-require-preflight": "true" } });
    expect(preflighted.status).toBe(405);
    expect(preflighted.text).toMatch(/only support query operations/);
    expect(await exists(email)).toBe(false);
    // A control: a query over GET with the preflight header works.
    const q = await http(s, { method: "GET", search: `?query=${encodeURIComponent("{ health }")}`, headers: { "apollo-require-preflight": "true" } });
    expect(q.status).toBe(200);
    expect(q.body.data).toEqual({ health: true });
  });

  it("other methods get 405", async () => {
    for (const method of ["PUT", "DELETE", "PATCH"]) {
      const r = await http(s, { method, headers: { "content-type": "application/json" }, body: JSON.stringify({ query: "{ health }" }) });
      expect(r.status).toBe(405);
      expect(r.body.errors?.[0]?.extensions?.code).toBe("METHOD_NOT_ALLOWED");
    }
  });

  it("an array-batched body is refused and none of its operations runs", async () => {
    const emails = [uniqueEmail("batch"), uniqueEmail("batch")];
    const res = await s.post(JSON.stringify(emails.map((e) => ({ query: registerDoc(e) }))), { "content-type": "application/json" });
    const text = await res.text();
    expect(res.status, text).toBe(400);
    expect(text).toMatch(/batching disabled/i);
    for (const e of emails) expect(await exists(e)).toBe(false);
  });

  describe("document limits (refused without naming the limit)", () => {
    const noNumbers = (r: GqlResponse) => {
      expect(r.errors?.length, r.raw).toBeGreaterThan(0);
      for (const e of r.errors!) {
        // The configured limits and the measured sizes are numbers: none may appear.
        expect(`${e.message} ${JSON.stringify(e.extensions ?? {})}`, r.raw).not.toMatch(/\d/);
      }
    };
    /** `{ __type { fields { type { ofType … { name } } } } }` nested to exactly `depth` levels. */
    const depthQuery = (depth: number) => {
      let inner = "name";
      for (let i = 0; i < depth - 4; i++) inner = `ofType { ${inner} }`;
      return `{ __type(name: "User") { fields { type { ${inner} } } } }`;
    };

    it("depth: maxDepth passes, one more is refused", async () => {
      const n = s.config.graphql.maxDepth;
      const ok = await s.gql(depthQuery(n));
      expect(ok.errors, ok.raw).toBeUndefined();
      const r = await s.gql(depthQuery(n + 1));
      expect(r.status).toBe(400);
      expect(codeOf(r)).toBe("GRAPHQL_VALIDATION_FAILED");
      expect(r.data).toBeNull();
      noNumbers(r);
    });

    it("aliases: maxAliases pass, one more is refused (so 100 aliased logins never run)", async () => {
      const n = s.config.graphql.maxAliases;
      const aliases = (k: number) => `{ ${Array.from({ length: k }, (_, i) => `a${i}: health`).join(" ")} }`;
      const ok = await s.gql(aliases(n));
      expect(ok.errors, ok.raw).toBeUndefined();
      const r = await s.gql(aliases(n + 1));
      expect(r.status).toBe(400);
      expect(codeOf(r)).toBe("GRAPHQL_VALIDATION_FAILED");
      noNumbers(r);
      const hits = await s.running.app.models.RateHit.countDocuments();
      const logins = `mutation { ${Array.from({ length: 100 }, (_, i) => `l${i}: login(input: { identity: "${victim.email}", password: "wrong-${i}" }) { __typename }`).join(" ")} }`;
      const many = await s.gql(logins);
      expect(codeOf(many)).toBe("GRAPHQL_VALIDATION_FAILED");
      noNumbers(many);
      expect(await s.running.app.models.RateHit.countDocuments()).toBe(hits);
    });

    it("tokens: a document over maxTokens is refused with a client error", async () => {
      const n = s.config.graphql.maxTokens;
      // One _entities call whose representation id is a list of k strings: 21 + k tokens, no repeated
      // fields (graphql-js's own overlap check would abort a document of 2,000 identical fields first).
      const doc = (k: number) => `{ _entities(representations: [{ __typename: "User" id: [${' "x"'.repeat(k)} ] }]) { __typename } }`;
      const ok = await s.gql(doc(n - 21), {}, { token: admin.accessToken });
      expect(ok.errors, ok.raw).toBeUndefined();
      expect(ok.data).toEqual({ _entities: [null] });
      const r = await s.gql(doc(n - 20), {}, { token: admin.accessToken });
      expect(codeOf(r), r.raw).toMatch(/^GRAPHQL_(VALIDATION|PARSE)_FAILED$/);
      expect(r.data ?? null).toBeNull();
      noNumbers(r);
      expect(r.status, "a refused document is the client's fault: 400, not a server error").toBe(400);
    });

    it("cost: fragments multiplying the cost past maxCost are refused (cheap in tokens, depth and aliases)", async () => {
      // Each level spreads the previous fragment ten times: ~10x the cost per level.
      const levels = (k: number) => {
        const frags = ["fragment F0 on Query { health }"];
        for (let i = 1; i <= k; i++) frags.push(`fragment F${i} on Query { ${`...F${i - 1} `.repeat(10)}}`);
        return `query { ...F${k} } ${frags.join(" ")}`;
      };
      expect(s.config.graphql.maxCost).toBeGreaterThan(2000); // level 2 costs ~1,500
      const ok = await s.gql(levels(2));
      expect(ok.errors, ok.raw).toBeUndefined();
      expect(ok.data).toEqual({ health: true });
      const r = await s.gql(levels(5));
      expect(r.status).toBe(400);
      expect(codeOf(r)).toBe("GRAPHQL_VALIDATION_FAILED");
      noNumbers(r);
    });

    it("directives: more than maxDirectives are refused", async () => {
      const n = s.config.graphql.maxDirectives;
      const r = await s.gql(`{ ${"health @include(if: true) ".repeat(n + 1)}}`);
      expect(r.status).toBe(400);
      expect(codeOf(r)).toBe("GRAPHQL_VALIDATION_FAILED");
      noNumbers(r);
    });
  });
});

describe("error masking", () => {
  it("an unexpected resolver failure (a corrupt stored user) is INTERNAL_SERVER_ERROR with no details, and the server carries on", async () => {
    // A document written behind the application's back, as a broken migration or manual edit would.
    const { Types } = await import("mongoose");
    const id = new Types.ObjectId();
    await s.running.app.models.User.collection.insertOne({
      _id: id,
      email: "corrupt@example.com",
      emailKey: `corrupt.${id.toHexString()}@example.com`,
      roles: 5 as unknown as string[],
      createdAt: "not a date" as unknown as Date,
      active: true,
      uniquifier: "u",
      loginCount: 0,
    });
    const r = await s.gql(`query($id: ID!) { user(input: { id: $id }) { id roles { name } } }`, { id: id.toHexString() }, { token: admin.accessToken });
    expect(r.status).toBeLessThan(500);
    expect(r.errors).toHaveLength(1);
    expect(r.errors![0]).toMatchObject({ message: "Internal server error.", path: ["user", "roles"] });
    expect(r.errors![0]!.extensions).toEqual({ code: "INTERNAL_SERVER_ERROR" });
    expect(r.raw).not.toMatch(/flatMap|TypeError|is not a function/);
    // A scalar that cannot serialise the stored value: graphql-scalars' message is masked too.
    const d = await s.gql(`query($id: ID!) { user(input: { id: $id }) { id createdAt } }`, { id: id.toHexString() }, { token: admin.accessToken });
    expect(d.errors![0]).toMatchObject({ message: "Internal server error.", extensions: { code: "INTERNAL_SERVER_ERROR" } });
    expect(d.raw).not.toMatch(/DateTime|not a date|serialize/);
    await s.running.app.models.User.deleteOne({ _id: id });
    expect((await s.gql(`{ health }`)).data).toEqual({ health: true });
  });

  it("duplicate keys raced in parallel answer the feature's code, never driver text", async () => {
    const name = uniqueName("race");
    const results = await Promise.all(Array.from({ length: 6 }, () => s.gql(DOCS.createRole, { input: { name } }, { token: admin.accessToken })));
    expect(results.filter((r) => !r.errors)).toHaveLength(1);
    for (const r of results.filter((x) => x.errors)) expect(codeOf(r), r.raw).toBe("ROLE_ALREADY_EXISTS");
    const username = uniqueName("raceuser");
    const regs = await Promise.all(Array.from({ length: 6 }, () => s.gql(REGISTER, { input: { email: uniqueEmail("race"), password: TEST_PASSWORD, username } })));
    expect(regs.filter((r) => !r.errors)).toHaveLength(1);
    for (const r of regs.filter((x) => x.errors)) expect(codeOf(r), r.raw).toBe("USERNAME_ALREADY_ASSOCIATED");
  });

  it("with its database connection closed, a server answers DATABASE_UNAVAILABLE within seconds, with no driver text", async () => {
    const d = guarded(await startTestServer());
    try {
      const u = await newUser(d);
      await d.running.db.conn.close();
      const calls: Array<[string, Record<string, unknown>, { token?: string }]> = [
        [`{ health }`, {}, {}],
        [LOGIN, { input: { identity: u.email, password: TEST_PASSWORD } }, {}],
        [REGISTER, { input: { email: uniqueEmail(), password: TEST_PASSWORD } }, {}],
        [ME, {}, { token: u.accessToken }],
      ];
      for (const [q, v, o] of calls) {
        const started = performance.now();
        const r = await d.gql(q, v, o);
        expect(performance.now() - started).toBeLessThan(5000);
        expect(codeOf(r), r.raw).toBe("DATABASE_UNAVAILABLE");
        expect(r.errors![0]!.message).toBe("The database is unavailable. Try again shortly.");
        expect(r.data ?? null).toBeNull();
        expect(r.raw).not.toMatch(/closed|connection|topology|pool|ECONN/i);
      }
      const health = await fetch(`${d.url}/health`);
      expect(health.status).toBe(503);
    } finally {
      await d.close();
    }
  });
});

describe("production mode", () => {
  let p: TestServer;
  let smtp: TestSmtpServer;
  beforeAll(async () => {
    smtp = await startSmtpServer(); // production refuses to start without an SMTP server
    // production also refuses SMS through the development file sender: SMS is left out here
    p = guarded(await startTestServer({ env: "production", secrets, mail: { smtpUrl: smtp.url }, twoFactor: { methods: ["AUTHENTICATOR", "EMAIL"] } }));
  });
  afterAll(async () => {
    await p?.close();
    await smtp?.close();
  });

  const TYPOS = [
    `{ helth }`,
    `{ me { emial } }`,
    `mutation { login(inpt: { identity: "a", password: "b" }) { __typename } }`,
    `mutation { login(input: { identiti: "a", password: "b" }) { __typename } }`,
    `mutation { login(input: { identity: "a", password: "b", delivery: TOKEN }) { __typename } }`,
    `query($x: LoginInpt) { health }`,
  ];

  it("refuses introspection", async () => {
    expect(p.config.graphql.introspection).toBe(false);
    for (const q of [`{ __schema { types { name } } }`, `{ __type(name: "User") { fields { name } } }`, `{ __schema { queryType { name } } }`]) {
      const r = await p.gql(q);
      expect(r.status).toBe(400);
      expect(codeOf(r)).toBe("GRAPHQL_VALIDATION_FAILED");
      expect(r.data).toBeNull();
      expect(r.raw).not.toMatch(/"User"|LoginInput|"fields"/);
    }
    expect((await p.gql(`{ health }`)).data).toEqual({ health: true });
  });

  it("gives no 'Did you mean' suggestions, in documents or in variables", async () => {
    for (const q of TYPOS) {
      const r = await p.gql(q);
      expect(r.status).toBe(400);
      expect(r.raw, q).not.toMatch(/Did you mean/i);
    }
    const fieldTypo = await p.gql(LOGIN, { input: { identiti: "a", password: "b" } });
    expect(codeOf(fieldTypo)).toBe("BAD_USER_INPUT");
    expect(fieldTypo.raw).not.toMatch(/Did you mean/i);
    const enumTypo = await p.gql(LOGIN, { input: { identity: "a", password: "b", delivery: "TOKEN" } });
    expect(codeOf(enumTypo)).toBe("BAD_USER_INPUT");
    expect(enumTypo.raw, "an enum typo in variables must not suggest the real value").not.toMatch(/Did you mean|TOKENS/);
  });

  it("in development introspection works and suggestions are given (the checks above can fail)", async () => {
    expect(s.config.graphql.introspection).toBe(true);
    const r = await s.gql(`{ __schema { types { name } } }`);
    expect(r.errors).toBeUndefined();
    expect(r.data!.__schema.types.map((t: { name: string }) => t.name)).toContain("User");
    const typo = await s.gql(`{ helth }`);
    expect(typo.errors![0]!.message).toMatch(/Did you mean "health"\?/);
    const enumTypo = await s.gql(LOGIN, { input: { identity: "a", password: "b", delivery: "TOKEN" } });
    expect(enumTypo.errors![0]!.message).toMatch(/Did you mean the enum value "TOKENS"\?/);
  });
});
