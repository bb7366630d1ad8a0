// The schema's guarantees: every root field declares who may call it (and anonymous callers are
// refused on every protected one, over HTTP, with documents generated from the schema), error codes
// are UPPER_SNAKE and unique, a disabled feature's operations do not exist, and two SDL files cannot
// define the same field.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buildSchema as buildSdl,
  getNamedType,
  graphql,
  isEnumType,
  isInputObjectType,
  isLeafType,
  isListType,
  isNonNullType,
  isScalarType,
  parse,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLSchema,
} from "graphql";
import { makeExecutableSchema } from "@graphql-tools/schema";
import { applyMiddleware } from "graphql-middleware";
import "../src/app.js"; // composes every feature, so every error catalogue is registered
import { assertNoDuplicateFields, buildSchema } from "../src/schema.js";
import { buildPermissions, fieldPolicy } from "../src/core/authz.js";
import { allErrorCodes, defineErrors } from "../src/core/errors.js";
import { startTestServer, newUser, codeOf, uniqueEmail, LOGIN, REGISTER, TEST_PASSWORD, type GqlResponse, type TestServer } from "./support/server.js";

/** Federation's own root fields: no SDL directive, handled explicitly by the authorization layer. */
const FEDERATION_FIELDS = new Set(["_service", "_entities"]);

let s: TestServer;
let schema: GraphQLSchema;
beforeAll(async () => {
  s = await startTestServer();
  schema = buildSchema(s.config);
});
afterAll(() => s?.close());

type RootField = { op: "query" | "mutation"; field: GraphQLField<unknown, unknown> };

function rootFields(sch: GraphQLSchema): RootField[] {
  const out: RootField[] = [];
  for (const [op, type] of [["query", sch.getQueryType()], ["mutation", sch.getMutationType()]] as const) {
    for (const field of Object.values(type?.getFields() ?? {})) out.push({ op, field });
  }
  return out;
}

const ZERO_ID = "000000000000000000000000";

/** A minimal valid value of an input type: required fields only, one element per list. */
function valueFor(type: GraphQLInputType): unknown {
  if (isNonNullType(type)) return valueFor(type.ofType);
  if (isListType(type)) return [valueFor(type.ofType)];
  if (isEnumType(type)) return type.getValues()[0]!.name;
  if (isInputObjectType(type)) {
    return Object.fromEntries(Object.values(type.getFields()).filter((f) => isNonNullType(f.type)).map((f) => [f.name, valueFor(f.type)]));
  }
  if (isScalarType(type)) {
    switch (type.name) {
      case "Int":
        return 1;
      case "Float":
        return 1.5;
      case "Boolean":
        return true;
      case "ID":
        return ZERO_ID;
      case "EmailAddress":
        return "someone@example.com";
      case "DateTime":
        return new Date().toISOString();
      case "_Any":
        return { __typename: "User", id: ZERO_ID };
      default:
        return "x";
    }
  }
  throw new Error(`no value for ${String(type)}`);
}

/** A valid document calling one root field with its required arguments as variables. */
function documentFor({ op, field }: RootField): { query: string; variables: Record<string, unknown> } {
  const args = field.args.filter((a) => isNonNullType(a.type));
  const defs = args.map((a) => `$${a.name}: ${String(a.type)}`).join(", ");
  const call = args.length ? `${field.name}(${args.map((a) => `${a.name}: $${a.name}`).join(", ")})` : field.name;
  const selection = isLeafType(getNamedType(field.type)) ? "" : " { __typename }";
  return {
    query: `${op}${defs ? `(${defs})` : ""} { ${call}${selection} }`,
    variables: Object.fromEntries(args.map((a) => [a.name, valueFor(a.type)])),
  };
}

const isProtected = (f: GraphQLField<unknown, unknown>): boolean => {
  const p = fieldPolicy(f);
  return !!p && !p.public;
};

describe("authorization declarations", () => {
  it("every root field declares its authorization (federation's _service/_entities apart)", () => {
    const all = rootFields(schema);
    expect(all.map((r) => r.field.name)).toEqual(expect.arrayContaining(["me", "roles", "user", "login", "register", "logout", "createRole", "changePassword", "_service", "_entities"]));
    const undeclared = all.filter((r) => !FEDERATION_FIELDS.has(r.field.name) && fieldPolicy(r.field) === null).map((r) => `${r.op}.${r.field.name}`);
    expect(undeclared).toEqual([]);
    // Federation's fields really carry no directive: they are covered by the explicit rules below.
    for (const name of FEDERATION_FIELDS) expect(fieldPolicy(schema.getQueryType()!.getFields()[name]!)).toBeNull();
  });

  it("the declaration check can fail: a field without a directive has no policy", () => {
    const tiny = buildSdl(`directive @public on FIELD_DEFINITION\ndirective @authenticated on FIELD_DEFINITION\ntype Query { open: String @public, closed: String @authenticated, bare: String }`);
    const f = tiny.getQueryType()!.getFields();
    expect(fieldPolicy(f.open!)).toMatchObject({ public: true });
    expect(fieldPolicy(f.closed!)).toMatchObject({ public: false, authenticated: true });
    expect(fieldPolicy(f.bare!)).toBeNull();
  });

  it("a root field without a declaration is denied by the compiled rules, even to a signed-in caller", async () => {
    const exec = makeExecutableSchema({
      typeDefs: `directive @public on FIELD_DEFINITION\ntype Query { open: String @public, bare: String }`,
      resolvers: { Query: { open: () => "yes", bare: () => "leaked" } },
    });
    const guarded = applyMiddleware(exec, buildPermissions(exec, { ...s.config.freshness, methods: ["PASSWORD"] }));
    const anonymous = await graphql({ schema: guarded, source: "{ open bare }", contextValue: { viewer: null, authFailure: null } });
    expect(anonymous.data).toEqual({ open: "yes", bare: null });
    expect(anonymous.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    const viewer = { userId: "u", scopes: new Set(["perm:users-admin", "role:admin"]), session: { freshAt: new Date() } };
    const signedIn = await graphql({ schema: guarded, source: "{ bare }", contextValue: { viewer, authFailure: null } });
    expect(signedIn.data).toEqual({ bare: null });
    expect(signedIn.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
  });

  it("the HTTP server serves the same root fields as buildSchema(config)", async () => {
    const r = await s.gql(`{ __schema { queryType { fields(includeDeprecated: true) { name } } mutationType { fields(includeDeprecated: true) { name } } } }`);
    const served = [...r.data!.__schema.queryType.fields, ...r.data!.__schema.mutationType.fields].map((f: { name: string }) => f.name).sort();
    expect(served).toEqual(rootFields(schema).map((x) => x.field.name).sort());
  });
});

describe("over HTTP, anonymous callers", () => {
  it("get UNAUTHENTICATED on every @authenticated / @requiresScopes / @policy root field", async () => {
    const fields = rootFields(schema).filter((r) => isProtected(r.field));
    expect(fields.length).toBeGreaterThanOrEqual(15);
    const wrong: string[] = [];
    for (const rf of fields) {
      const { query, variables } = documentFor(rf);
      const r = await s.gql(query, variables);
      if (codeOf(r) !== "UNAUTHENTICATED" || (r.data?.[rf.field.name] ?? null) !== null) wrong.push(`${rf.field.name}: ${r.raw}`);
    }
    expect(wrong).toEqual([]);
  });

  it("are not refused on @public root fields (so the generated documents are valid and the check above can tell)", async () => {
    const fields = rootFields(schema).filter((r) => fieldPolicy(r.field)?.public);
    expect(fields.map((r) => r.field.name)).toEqual(expect.arrayContaining(["health", "login", "register", "refreshToken"]));
    for (const rf of fields) {
      const { query, variables } = documentFor(rf);
      const r = await s.gql(query, variables);
      expect(["UNAUTHENTICATED", "FORBIDDEN", "GRAPHQL_VALIDATION_FAILED", "BAD_REQUEST", "INTERNAL_SERVER_ERROR"], `${rf.field.name}: ${r.raw}`).not.toContain(codeOf(r));
      expect(r.status, r.raw).toBe(200);
    }
  });

  it("_service works anonymously; _entities needs a session", async () => {
    const svc = await s.gql(`{ _service { sdl } }`);
    expect(svc.errors).toBeUndefined();
    expect(svc.data!._service.sdl).toMatch(/type User\s+@key\(fields: "id"\)/);

    const u = await newUser(s);
    const q = `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id } } }`;
    const vars = { r: [{ __typename: "User", id: u.id }] };
    const anon = await s.gql(q, vars);
    expect(codeOf(anon)).toBe("UNAUTHENTICATED");
    expect(anon.data?._entities ?? null).toBeNull();
    const signedIn = await s.gql(q, vars, { token: u.accessToken });
    expect(signedIn.errors).toBeUndefined();
    expect(signedIn.data!._entities).toEqual([{ id: u.id }]);
  });

  it("and signed-in callers without the permission get FORBIDDEN on every @requiresScopes root field", async () => {
    const u = await newUser(s);
    const fields = rootFields(schema).filter((r) => fieldPolicy(r.field)?.scopes);
    expect(fields.map((r) => r.field.name)).toEqual(expect.arrayContaining(["roles", "user", "createRole", "grantRole", "setUserActive", "resetUserAccess"]));
    const wrong: string[] = [];
    for (const rf of fields) {
      const { query, variables } = documentFor(rf);
      const r: GqlResponse = await s.gql(query, variables, { token: u.accessToken });
      if (codeOf(r) !== "FORBIDDEN") wrong.push(`${rf.field.name}: ${r.raw}`);
    }
    expect(wrong).toEqual([]);
  });
});

describe("error codes", () => {
  it("every registered code is UPPER_SNAKE, unique, has a message, and every catalogue is loaded", () => {
    const specs = allErrorCodes();
    const codes = specs.map((x) => x.code);
    for (const c of codes) expect(c).toMatch(/^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*$/);
    expect(new Set(codes).size).toBe(codes.length);
    for (const x of specs) expect(x.message.trim().length, x.code).toBeGreaterThan(0);
    // One code from each catalogue: kernel, field, identity, passwords, sessions, users, auth, roles, change password.
    expect(codes).toEqual(
      expect.arrayContaining([
        "UNAUTHENTICATED", "FORBIDDEN", "REAUTH_REQUIRED", "BAD_USER_INPUT", "INTERNAL_SERVER_ERROR", "DATABASE_UNAVAILABLE",
        "REQUIRED", "INVALID_EMAIL_ADDRESS", "PASSWORD_INVALID_LENGTH", "REFRESH_TOKEN_INVALID", "USER_DOES_NOT_EXIST",
        "GENERIC_AUTHN_FAILED", "ROLE_ALREADY_EXISTS", "PASSWORD_IS_THE_SAME",
      ]),
    );
  });

  it("declaring an existing code again throws", () => {
    const before = allErrorCodes().length;
    expect(() => defineErrors({ UNAUTHENTICATED: "again" })).toThrow(/UNAUTHENTICATED.*declared twice/);
    expect(() => defineErrors({ ROLE_ALREADY_EXISTS: "again" })).toThrow(/declared twice/);
    expect(allErrorCodes()).toHaveLength(before);
    expect(allErrorCodes().find((x) => x.code === "UNAUTHENTICATED")?.message).toBe("Authentication required.");
  });
});

describe("disabled features", () => {
  let d: TestServer;
  beforeAll(async () => {
    d = await startTestServer({ registration: { enabled: false }, changePassword: { enabled: false } });
  });
  afterAll(() => d?.close());

  it("with registration and change password disabled, their operations and types are absent from the schema", () => {
    const off = buildSchema(d.config);
    const mutations = Object.keys(off.getMutationType()!.getFields());
    expect(mutations).not.toContain("register");
    expect(mutations).not.toContain("changePassword");
    expect(off.getType("RegisterInput")).toBeUndefined();
    expect(off.getType("ChangePasswordInput")).toBeUndefined();
    expect(mutations).toContain("login");
    // and present when enabled (the same check on the default config)
    const on = Object.keys(schema.getMutationType()!.getFields());
    expect(on).toEqual(expect.arrayContaining(["register", "changePassword"]));
  });

  it("calling them gets GRAPHQL_VALIDATION_FAILED and changes nothing", async () => {
    const email = uniqueEmail("off");
    const reg = await d.gql(REGISTER, { input: { email, password: TEST_PASSWORD } });
    expect(reg.status).toBe(400);
    expect(codeOf(reg)).toBe("GRAPHQL_VALIDATION_FAILED");
    expect(await d.running.app.models.User.countDocuments({ emailKey: email })).toBe(0);

    // A user made the other way (as the CLI would) signs in, but cannot change the password.
    const made = await d.running.app.users.create({ email: uniqueEmail("made"), password: TEST_PASSWORD, roles: ["user"] });
    if (!("created" in made)) throw new Error("user not created");
    const login = await d.gql(LOGIN, { input: { identity: made.created.email, password: TEST_PASSWORD, delivery: "TOKENS" } });
    const token = login.data!.login.tokens.accessToken as string;
    const change = await d.gql(
      `mutation($input: ChangePasswordInput!) { changePassword(input: $input) { user { id } } }`,
      { input: { currentPassword: TEST_PASSWORD, newPassword: "another long password" } },
      { token },
    );
    expect(change.status).toBe(400);
    expect(codeOf(change)).toBe("GRAPHQL_VALIDATION_FAILED");
    const inline = await d.gql(`mutation { changePassword(input: { currentPassword: "${TEST_PASSWORD}", newPassword: "another long password" }) { __typename } }`, {}, { token });
    expect(codeOf(inline)).toBe("GRAPHQL_VALIDATION_FAILED");
    const again = await d.gql(LOGIN, { input: { identity: made.created.email, password: TEST_PASSWORD } });
    expect(again.errors).toBeUndefined();
  });
});

describe("assertNoDuplicateFields", () => {
  const doc = (sdl: string) => parse(sdl);

  it("throws when two SDL documents define the same field, naming both", () => {
    expect(() =>
      assertNoDuplicateFields([
        { name: "one", doc: doc(`extend type Query { thing: String }`) },
        { name: "two", doc: doc(`extend type Query { other: Int thing: String }`) },
      ]),
    ).toThrow(/Query\.thing.*"one".*"two"/);
    expect(() =>
      assertNoDuplicateFields([
        { name: "base", doc: doc(`type User { id: ID! }`) },
        { name: "feature", doc: doc(`extend type User { id: ID! }`) },
      ]),
    ).toThrow(/User\.id/);
    expect(() =>
      assertNoDuplicateFields([
        { name: "a", doc: doc(`input LoginInput { identity: String! }`) },
        { name: "b", doc: doc(`input LoginInput { identity: String }`) },
      ]),
    ).toThrow(/LoginInput\.identity/);
  });

  it("accepts distinct fields, the same field name on different types, and the real SDL files", () => {
    expect(() =>
      assertNoDuplicateFields([
        { name: "one", doc: doc(`extend type Query { a: String } type Role { name: String }`) },
        { name: "two", doc: doc(`extend type Query { b: String } type Team { name: String }`) },
      ]),
    ).not.toThrow();
    // buildSchema runs the check over every enabled feature's SDL (and did so in beforeAll).
    expect(() => buildSchema(s.config)).not.toThrow();
  });
});
