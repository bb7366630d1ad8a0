// The auth server as a subgraph of a real federated graph: our subgraph and the "notes" subgraph
// (test/federation/notes-subgraph.ts, which trusts our users only through /.well-known/jwks.json)
// composed with @apollo/composition and served by @apollo/gateway, everything over real HTTP against
// the real database. Every client request below goes through the gateway unless it says otherwise.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ApolloGateway } from "@apollo/gateway";
import {
  startTestServer,
  registerUser,
  newUser,
  makeAdmin,
  REGISTER,
  TEST_PASSWORD,
  uniqueEmail,
  type TestServer,
  type SignedInUser,
} from "../support/server.js";
import { decodeJwt, compact, hmacJwt, publicKeyEncodings, signWithAttackerKey, withPayload } from "../support/jwt-attacks.js";
import type { Json } from "../support/json.js";
import type { GqlResult } from "./http.js";
import { startNotesSubgraph, type NotesSubgraph } from "./notes-subgraph.js";
import { forGateway, startSupergraph, type Supergraph } from "./supergraph.js";

const LOGIN = /* GraphQL */ `
  mutation Login($input: LoginInput!) {
    login(input: $input) { __typename ... on SignedIn { user { id email } tokens { accessToken accessTokenExpiresAt refreshToken } } }
  }`;
const ADD_NOTE = `mutation($t: String!, $p: Boolean) { addNote(text: $t, public: $p) { id text author { id } } }`;

let s: TestServer;
let notes: NotesSubgraph;
let g: Supergraph;

beforeAll(async () => {
  s = await startTestServer();
  notes = await startNotesSubgraph({
    jwksUrl: `${s.url}/.well-known/jwks.json`,
    issuer: s.config.tokens.issuer as string,
    audience: s.config.tokens.audience,
    cooldownMs: 100,
  });
  g = await startSupergraph([
    { name: "auth", url: `${s.url}/graphql` },
    { name: "notes", url: notes.url },
  ]);
});
afterAll(async () => {
  await g?.close();
  await notes?.close();
  await s?.close();
});

const codes = (r: GqlResult): string[] => (r.errors ?? []).map((e) => String(e.extensions?.code));
/** The one error of a response, with the subgraph the gateway names for it. */
function onlyError(r: GqlResult): { code: string; serviceName: string; reason: string | undefined; path: Array<string | number> | undefined } {
  expect(r.errors, r.raw).toHaveLength(1);
  const e = r.errors![0]!;
  return { code: String(e.extensions?.code), serviceName: String(e.extensions?.serviceName), reason: e.extensions?.reason as string | undefined, path: e.path };
}
/** Subgraph calls the gateway makes while `run` executes. */
async function callsDuring<T>(run: () => Promise<T>): Promise<{ result: T; calls: Supergraph["calls"] }> {
  const before = g.calls.length;
  const result = await run();
  return { result, calls: g.calls.slice(before) };
}
async function loginThroughGateway(email: string, delivery: "TOKENS" | "COOKIE"): Promise<GqlResult> {
  const r = await g.gql(LOGIN, { input: { identity: email, password: TEST_PASSWORD, delivery } });
  expect(r.errors, r.raw).toBeUndefined();
  expect(r.data.login.__typename).toBe("SignedIn");
  return r;
}

describe("composition", () => {
  it("composes our SDL with the notes subgraph; the supergraph keeps our authorization directives, which @apollo/gateway cannot enforce", async () => {
    const sdl = g.supergraphSdl;
    for (const feature of ["authenticated", "requiresScopes", "policy"]) {
      expect(sdl).toContain(`@link(url: "https://specs.apollo.dev/${feature}/v0.1", for: SECURITY)`);
    }
    expect(sdl).toMatch(/type User\s+@join__type\(graph: AUTH, key: "id"\)\s+@join__type\(graph: NOTES, key: "id"\)/);
    expect(sdl).toContain(`me: User! @join__field(graph: AUTH) @authenticated`);
    expect(sdl).toContain(`roles: [Role!]! @join__field(graph: AUTH) @requiresScopes(scopes: [["perm:roles-read"], ["perm:roles-admin"]])`);
    expect(sdl).toContain(`email: EmailAddress! @join__field(graph: AUTH) @policy(policies: [["self"], ["perm:users-read"]])`);
    expect(sdl).toContain(`notes: [Note!]! @join__field(graph: NOTES) @authenticated`);
    expect(sdl).toContain(`noteCount: Int! @join__field(graph: NOTES) @requiresScopes(scopes: [["perm:users-read"]])`);
    // Our own @public is not a federation directive: it stays inside our subgraph.
    expect(sdl).not.toContain("@public");

    // As composed (what an Apollo Router runs), @apollo/gateway refuses the supergraph: it will not
    // serve a graph whose security features it cannot enforce.
    const strict = new ApolloGateway({ supergraphSdl: sdl });
    await expect(strict.load()).rejects.toThrow(/authenticated\/v0\.1 is for: SECURITY but is unsupported/);
    // The gateway here gets the same supergraph with only those three purposes dropped; every
    // subgraph enforces its own declarations.
    const relaxed = forGateway(sdl);
    expect(relaxed).not.toContain("for: SECURITY");
    expect(relaxed.replace(/, for: SECURITY/g, "")).toBe(sdl.replace(/, for: SECURITY/g, ""));
    expect(relaxed).toContain(`@link(url: "https://specs.apollo.dev/join/v0.5", for: EXECUTION)`);
  });
});

describe("signing in through the gateway", () => {
  it("TOKENS: register and sign in through the gateway; me { id email notes } combines both subgraphs with the bearer token forwarded to each", async () => {
    const email = uniqueEmail("fed");
    const reg = await g.gql(REGISTER, { input: { email, password: TEST_PASSWORD } });
    expect(reg.errors, reg.raw).toBeUndefined();
    expect(["RegistrationAccepted", "SignedIn"]).toContain(reg.data.register.__typename);

    const login = await loginThroughGateway(email, "TOKENS");
    const { user, tokens } = login.data.login;
    expect(user.email).toBe(email);
    expect(login.setCookies.filter((c) => c.startsWith(`${s.config.sessions.cookieName}=`))).toEqual([]);
    const token = tokens.accessToken as string;

    for (const text of ["first", "second"]) {
      const r = await g.gql(ADD_NOTE, { t: text }, { token });
      expect(r.errors, r.raw).toBeUndefined();
      expect(r.data.addNote).toMatchObject({ text, author: { id: user.id } });
    }

    const { result: me, calls } = await callsDuring(() => g.gql(`{ me { id email notes { text author { id email } } } }`, {}, { token }));
    expect(me.errors, me.raw).toBeUndefined();
    expect(me.data.me).toEqual({
      id: user.id,
      email,
      notes: [
        { text: "first", author: { id: user.id, email } },
        { text: "second", author: { id: user.id, email } },
      ],
    });
    // our subgraph answered me; notes resolved User.notes as an entity; ours resolved the authors' emails
    expect(calls.map((c) => c.subgraph)).toEqual(["auth", "notes", "auth"]);
    expect(calls[1]!.query).toContain("_entities");
    for (const c of calls) expect(c.headers.authorization).toBe(`Bearer ${token}`);
  });

  it("COOKIE: our Set-Cookie reaches the client through the gateway and signs in the next request; the notes subgraph does not take cookie sessions", async () => {
    const { email } = await registerUser(s);
    const login = await loginThroughGateway(email, "COOKIE");
    expect(login.data.login.tokens).toBeNull();
    const name = s.config.sessions.cookieName;
    const setCookie = login.setCookies.find((c) => c.startsWith(`${name}=`));
    expect(setCookie).toMatch(new RegExp(`^${name}=[A-Za-z0-9_-]{20,}; Path=/; HttpOnly; SameSite=Lax; Max-Age=\\d+; Secure$`));
    const cookie = (setCookie as string).split(";")[0] as string; // what a browser sends back

    const { result: me, calls } = await callsDuring(() => g.gql(`{ me { id email } }`, {}, { cookie }));
    expect(me.errors, me.raw).toBeUndefined();
    expect(me.data.me).toEqual({ id: login.data.login.user.id, email });
    expect(calls).toHaveLength(1);
    expect(calls[0]!.headers.cookie).toBe(cookie);

    // Other subgraphs trust bearer tokens only: the cookie is an opaque session handle that only
    // the auth server can resolve. Browser clients of a federated graph use TOKENS delivery.
    const withNotes = await g.gql(`{ me { id notes { text } } }`, {}, { cookie });
    expect(onlyError(withNotes)).toMatchObject({ code: "UNAUTHENTICATED", serviceName: "notes", reason: "missing", path: ["me", "notes"] });
    expect(withNotes.data).toBeNull();

    const logout = await g.gql(`mutation { logout }`, {}, { cookie });
    expect(logout.data).toEqual({ logout: true });
    expect(logout.setCookies).toContainEqual(expect.stringMatching(new RegExp(`^${name}=; .*Max-Age=0`)));
    expect(onlyError(await g.gql(`{ me { id } }`, {}, { cookie }))).toMatchObject({ code: "UNAUTHENTICATED", serviceName: "auth" });
  });
});

describe("refusals keep their codes through the gateway", () => {
  it("anonymous: UNAUTHENTICATED from our fields and from the notes subgraph's own fields", async () => {
    const [me, mine, add] = await Promise.all([g.gql(`{ me { id } }`), g.gql(`{ myNotes { text } }`), g.gql(ADD_NOTE, { t: "anonymous" })]);
    expect(onlyError(me)).toMatchObject({ code: "UNAUTHENTICATED", serviceName: "auth", path: ["me"] });
    expect(onlyError(mine)).toMatchObject({ code: "UNAUTHENTICATED", serviceName: "notes", reason: "missing", path: ["myNotes"] });
    expect(onlyError(add)).toMatchObject({ code: "UNAUTHENTICATED", serviceName: "notes" });
    for (const r of [me, mine, add]) expect(r.data).toBeNull();
  });

  it("a normal user on admin-only fields: FORBIDDEN from both subgraphs; after a role grant ours allows at once, notes once the client has a new token", async () => {
    const u = await newUser(s);
    const other = await newUser(s);
    const ADMIN_ONLY = [`{ roles { name } }`, `{ user(input: { id: "${other.id}" }) { email } }`];
    for (const q of ADMIN_ONLY) expect(onlyError(await g.gql(q, {}, { token: u.accessToken }))).toMatchObject({ code: "FORBIDDEN", serviceName: "auth" });
    expect(onlyError(await g.gql(`{ noteCount }`, {}, { token: u.accessToken }))).toMatchObject({ code: "FORBIDDEN", serviceName: "notes", path: ["noteCount"] });

    await makeAdmin(s, u.id);
    // Our subgraph reads permissions from the live session state: the same token is an admin now.
    const roles = await g.gql(`{ roles { name } }`, {}, { token: u.accessToken });
    expect(roles.errors, roles.raw).toBeUndefined();
    expect(roles.data.roles.map((r: { name: string }) => r.name)).toContain("admin");
    expect((await g.gql(ADMIN_ONLY[1] as string, {}, { token: u.accessToken })).data).toEqual({ user: { email: other.email } });
    // Other subgraphs read the token's scope claim, fixed when the token was issued.
    expect(decodeJwt(u.accessToken).payload.scope).toBe("role:user perm:user-read perm:user-write");
    expect(onlyError(await g.gql(`{ noteCount }`, {}, { token: u.accessToken }))).toMatchObject({ code: "FORBIDDEN", serviceName: "notes" });

    const refreshed = await g.gql(`mutation($i: RefreshTokenInput!) { refreshToken(input: $i) { accessToken } }`, { i: { refreshToken: u.refreshToken } });
    expect(refreshed.errors, refreshed.raw).toBeUndefined();
    const fresh = refreshed.data.refreshToken.accessToken as string;
    expect(String(decodeJwt(fresh).payload.scope).split(" ")).toEqual(expect.arrayContaining(["role:admin", "perm:users-read"]));
    const count = await g.gql(`{ noteCount tokenInfo { scope } }`, {}, { token: fresh });
    expect(count.errors, count.raw).toBeUndefined();
    expect(count.data.noteCount).toEqual(expect.any(Number));
    expect(count.data.tokenInfo.scope).toContain("perm:users-read");
  });

  it("forged and tampered tokens are refused by the notes subgraph's own JWKS verification, and by ours", async () => {
    const u = await newUser(s);
    const victim = await newUser(s);
    const real = decodeJwt(u.accessToken);
    const ourKid = real.header.kid as string;
    const jwks = (await (await fetch(`${s.url}/.well-known/jwks.json`)).json()) as { keys: Array<Record<string, string>> };
    const ourJwk = jwks.keys.find((k) => k.kid === ourKid)!;
    expect(ourJwk).toBeDefined();
    const forged: Record<string, string> = {
      "attacker key, our kid": await signWithAttackerKey({ kid: ourKid, typ: "at+jwt" }, { ...real.payload, sub: victim.id }),
      "attacker key, embedded jwk": await signWithAttackerKey({ kid: "attacker", typ: "at+jwt" }, { ...real.payload, sub: victim.id }, { embedJwk: true }),
      "alg none": compact({ alg: "none", kid: ourKid, typ: "at+jwt" }, { ...real.payload, sub: victim.id }),
      "payload edited, signature kept": withPayload(u.accessToken, { sub: victim.id }),
      "HS256 keyed with our public JWK": hmacJwt("HS256", { kid: ourKid, typ: "at+jwt" }, { ...real.payload, sub: victim.id }, publicKeyEncodings(ourJwk)[0]!.secret),
      "expired long ago, re-dated": withPayload(u.accessToken, { exp: Math.floor(Date.now() / 1000) + 3600, iat: 1 }),
    };
    // control: the genuine token works in both subgraphs
    const ok = await g.gql(`{ tokenInfo { sub kid } me { id } }`, {}, { token: u.accessToken });
    expect(ok.errors, ok.raw).toBeUndefined();
    expect(ok.data).toEqual({ tokenInfo: { sub: u.id, kid: ourKid }, me: { id: u.id } });

    await Promise.all(
      Object.entries(forged).map(async ([name, token]) => {
        const [inNotes, inOurs] = await Promise.all([g.gql(`{ tokenInfo { sub } }`, {}, { token }), g.gql(`{ me { id email } }`, {}, { token })]);
        expect(onlyError(inNotes), name).toMatchObject({ code: "UNAUTHENTICATED", serviceName: "notes", reason: "invalid" });
        expect(onlyError(inOurs), name).toMatchObject({ code: "UNAUTHENTICATED", serviceName: "auth" });
        for (const r of [inNotes, inOurs]) {
          expect(r.data, name).toBeNull();
          expect(r.raw, name).not.toContain(victim.email);
        }
      }),
    );
  });
});

describe("entities through the gateway", () => {
  const N = 12;
  let viewer: SignedInUser;
  const authors: Array<SignedInUser & { username: string }> = [];
  beforeAll(async () => {
    viewer = await newUser(s);
    const made = await Promise.all(
      Array.from({ length: N }, async (_, i) => {
        const username = `fed${i}x${Date.now().toString(36)}`;
        const u = await newUser(s, { username });
        return { ...u, username };
      }),
    );
    authors.push(...made);
    await Promise.all(authors.map(async (a, i) => {
      const r = await g.gql(ADD_NOTE, { t: `note ${i}`, p: i === 0 }, { token: a.accessToken });
      if (r.errors) throw new Error(r.raw);
    }));
  });

  it(`resolves ${N} users from the notes subgraph in ONE _entities call that costs ONE users query in our subgraph`, async () => {
    // warm the viewer's session state, so the counted request does only entity work
    expect((await g.gql(`{ me { id } }`, {}, { token: viewer.accessToken })).data).toEqual({ me: { id: viewer.id } });
    const User = s.running.app.models.User;
    const conn = s.running.db.conn;
    const ops: string[] = [];
    conn.set("debug", (collection: string, method: string) => {
      if (collection === User.collection.collectionName) ops.push(method);
    });
    const find = vi.spyOn(User, "find"); // counts real calls; the implementation is kept
    try {
      const { result: r, calls } = await callsDuring(() =>
        g.gql(`query($ids: [ID!]!) { notesBy(authorIds: $ids) { text author { id username } } }`, { ids: authors.map((a) => a.id) }, { token: viewer.accessToken }),
      );
      expect(r.errors, r.raw).toBeUndefined();
      expect(r.data.notesBy).toHaveLength(N);
      const byText = new Map((r.data.notesBy as Json[]).map((n) => [n.text as string, n.author]));
      authors.forEach((a, i) => expect(byText.get(`note ${i}`)).toEqual({ id: a.id, username: a.username }));

      expect(calls.map((c) => c.subgraph)).toEqual(["notes", "auth"]);
      expect(calls[1]!.query).toContain("_entities");
      expect(calls[1]!.variables.representations).toHaveLength(N);
      expect(find).toHaveBeenCalledTimes(1);
      // Entity loads are `find`; a `findOne` here is the caller's own session state being
      // reloaded (its cache entry may have been dropped by a revocation elsewhere), not entities.
      expect(ops.filter((op) => op !== "findOne")).toEqual(["find"]);
    } finally {
      find.mockRestore();
      conn.set("debug", false);
    }
  });

  it("returns nothing a direct query would refuse: another user's email is FORBIDDEN (and null) through the gateway too", async () => {
    const [me, other] = [authors[1]!, authors[2]!];
    // directly on our subgraph, the lookup is refused
    const direct = await s.gql(`query($i: UserLookupInput!) { user(input: $i) { email } }`, { i: { id: other.id } }, { token: me.accessToken });
    expect(direct.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");

    const r = await g.gql(`query($ids: [ID!]!) { notesBy(authorIds: $ids) { text author { id email } } }`, { ids: [me.id, other.id] }, { token: me.accessToken });
    expect(r.data.notesBy).toEqual([
      { text: "note 1", author: { id: me.id, email: me.email } },
      { text: "note 2", author: null },
    ]);
    expect(onlyError(r)).toMatchObject({ code: "FORBIDDEN", serviceName: "auth", path: ["notesBy", 1, "author", "email"] });
    expect(r.raw).not.toContain(other.email);

    // the notes subgraph's own rule on its part of the entity: notes of others are not yours
    const theirNotes = await g.gql(`query($ids: [ID!]!) { notesBy(authorIds: $ids) { author { id notes { text } } } }`, { ids: [other.id] }, { token: me.accessToken });
    expect(onlyError(theirNotes)).toMatchObject({ code: "FORBIDDEN", serviceName: "notes" });

    // an administrator is allowed both, as directly
    const admin = await newUser(s);
    await makeAdmin(s, admin.id);
    const asAdmin = await g.gql(`query($ids: [ID!]!) { notesBy(authorIds: $ids) { author { email } } }`, { ids: [me.id, other.id] }, { token: admin.accessToken });
    expect(asAdmin.errors, asAdmin.raw).toBeUndefined();
    expect(asAdmin.data.notesBy).toEqual([{ author: { email: me.email } }, { author: { email: other.email } }]);
  });

  it("anonymous callers of a public notes field get no user data from our subgraph: its _entities answers UNAUTHENTICATED", async () => {
    const author = authors[0]!;
    const r = await g.gql(`{ publicNotes { text author { id username } } }`);
    expect(r.data.publicNotes).toContainEqual({ text: "note 0", author: { id: author.id, username: null } });
    expect(codes(r)).toEqual(["UNAUTHENTICATED"]);
    expect(r.errors![0]!.extensions!.serviceName).toBe("auth");
    expect(r.raw).not.toContain(author.username);
  });
});

describe("revocation", () => {
  it("is the access-token lifetime: 900 s by default, the exp the notes subgraph checks", async () => {
    const u = await newUser(s);
    const r = await g.gql(`{ tokenInfo { expiresAt } }`, {}, { token: u.accessToken });
    const { iat, exp } = decodeJwt(u.accessToken).payload as { iat: number; exp: number };
    expect(s.config.tokens.accessTokenTtlSeconds).toBe(900);
    expect(exp - iat).toBe(900);
    expect(r.data).toEqual({ tokenInfo: { expiresAt: exp } });
  });

  it("after logout our fields refuse the token on the next request; the notes subgraph (stateless JWT checks) accepts it until it expires, then refuses it", async () => {
    // A second instance on the same database issuing 10 s tokens (TOKENS_ACCESS_TOKEN_TTL_SECONDS=10),
    // so the test can watch a revoked token run out.
    const short = await startTestServer({ secrets: s.config.secrets, tokens: { accessTokenTtlSeconds: 10 } }, undefined, { dbName: s.running.db.conn.name });
    try {
      const { email } = await registerUser(s);
      const r = await short.gql(LOGIN, { input: { identity: email, password: TEST_PASSWORD, delivery: "TOKENS" } });
      const token = r.data!.login.tokens.accessToken as string;
      const { exp } = decodeJwt(token).payload as { exp: number };
      expect((await g.gql(ADD_NOTE, { t: "written before logout" }, { token })).errors).toBeUndefined();
      const before = await g.gql(`{ me { id } myNotes { text } }`, {}, { token });
      expect(before.errors, before.raw).toBeUndefined();

      const logout = await g.gql(`mutation { logout }`, {}, { token });
      expect(logout.data).toEqual({ logout: true });

      // our subgraph: refused on the very next request
      expect(onlyError(await g.gql(`{ me { id } }`, {}, { token }))).toMatchObject({ code: "UNAUTHENTICATED", serviceName: "auth", reason: "revoked" });
      // the notes subgraph cannot know: the signature, issuer, audience and exp are all still valid
      const stillAccepted = await g.gql(`{ myNotes { text } tokenInfo { expiresAt } }`, {}, { token });
      expect(stillAccepted.errors, stillAccepted.raw).toBeUndefined();
      expect(stillAccepted.data).toEqual({ myNotes: [{ text: "written before logout" }], tokenInfo: { expiresAt: exp } });
      // ... while whatever it needs from our subgraph about users is refused
      const mixed = await g.gql(`{ myNotes { text author { username } } }`, {}, { token });
      expect(mixed.data.myNotes).toEqual([{ text: "written before logout", author: { username: null } }]);
      expect(codes(mixed)).toEqual(["UNAUTHENTICATED"]);
      expect(mixed.errors![0]!.extensions!.serviceName).toBe("auth");

      // once exp has passed, the notes subgraph refuses it too
      const waitMs = exp * 1000 + 1100 - Date.now();
      expect(waitMs).toBeLessThan(11_500);
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, waitMs)));
      expect(onlyError(await g.gql(`{ myNotes { text } }`, {}, { token }))).toMatchObject({ code: "UNAUTHENTICATED", serviceName: "notes", reason: "expired" });
    } finally {
      await short.close();
    }
  }, 45_000);
});
