// Roles and permissions through HTTP: who may read and change them, validation, and the effect of
// a change on the target user's very next request with the credentials they already hold.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, makeAdmin, newAdmin, newUser, registerUser, loginTokens, loginCookie, ME, codeOf, TEST_PASSWORD, type TestServer, type SignedInUser, fieldErrors } from "../support/server.js";

const ROLES_Q = `{ roles { name description permissions } }`;
const CREATE = `mutation($i: CreateRoleInput!) { createRole(input: $i) { name description permissions } }`;
const GRANT = `mutation($i: RoleAssignmentInput!) { grantRole(input: $i) { id email roles { name } permissions } }`;
const REVOKE = `mutation($i: RoleAssignmentInput!) { revokeRole(input: $i) { id roles { name } permissions } }`;
const ADD_PERMS = `mutation($i: RolePermissionsInput!) { addPermissions(input: $i) { name permissions } }`;
const REMOVE_PERMS = `mutation($i: RolePermissionsInput!) { removePermissions(input: $i) { name permissions } }`;
const VERIFY = `mutation($p: String!) { verifyPassword(input: { password: $p }) { verifiedAt } }`;

const roleNames = (u: { roles: Array<{ name: string }> }): string[] => u.roles.map((r) => r.name).sort();
let seq = 0;
const uniqueRole = (prefix: string): string => `${prefix}-${Date.now().toString(36)}${(seq++).toString(36)}`;


let s: TestServer;
let admin: SignedInUser;
beforeAll(async () => {
  s = await startTestServer();
  admin = await newAdmin(s);
});
afterAll(() => s.close());

describe("roles query", () => {
  it("is refused to anonymous callers with UNAUTHENTICATED", async () => {
    const r = await s.gql(ROLES_Q);
    expect(codeOf(r)).toBe("UNAUTHENTICATED");
    expect(r.data).toBeNull();
  });

  it("is refused to a normal user with FORBIDDEN", async () => {
    const u = await newUser(s);
    const r = await s.gql(ROLES_Q, {}, { token: u.accessToken });
    expect(codeOf(r)).toBe("FORBIDDEN");
    expect(r.data).toBeNull();
  });

  it("lists the default roles with their permissions to an admin", async () => {
    const r = await s.gql(ROLES_Q, {}, { token: admin.accessToken });
    expect(r.errors).toBeUndefined();
    const roles = r.data!.roles as Array<{ name: string; permissions: string[] }>;
    expect(roles.find((x) => x.name === "user")?.permissions.sort()).toEqual(["user-read", "user-write"]);
    expect(roles.find((x) => x.name === "admin")?.permissions.sort()).toEqual(["roles-admin", "roles-read", "users-admin", "users-read"]);
  });

  it("is allowed with roles-read alone, which does not allow changes", async () => {
    const name = uniqueRole("auditor");
    expect((await s.gql(CREATE, { i: { name, permissions: ["roles-read"] } }, { token: admin.accessToken })).errors).toBeUndefined();
    const u = await newUser(s);
    expect((await s.gql(GRANT, { i: { userId: u.id, role: name } }, { token: admin.accessToken })).errors).toBeUndefined();
    const list = await s.gql(ROLES_Q, {}, { token: u.accessToken });
    expect(list.errors).toBeUndefined();
    expect(list.data!.roles.map((x: { name: string }) => x.name)).toContain(name);
    const create = await s.gql(CREATE, { i: { name: uniqueRole("nope") } }, { token: u.accessToken });
    expect(codeOf(create)).toBe("FORBIDDEN");
  });
});

describe("createRole", () => {
  it("creates a role (permissions de-duplicated) that the roles query shows at once", async () => {
    const name = uniqueRole("editor");
    const r = await s.gql(CREATE, { i: { name, description: "Edits things", permissions: ["posts:write", "posts.read", "posts:write"] } }, { token: admin.accessToken });
    expect(r.errors).toBeUndefined();
    expect(r.data!.createRole).toEqual({ name, description: "Edits things", permissions: ["posts:write", "posts.read"] });
    const list = await s.gql(ROLES_Q, {}, { token: admin.accessToken });
    expect(list.data!.roles).toContainEqual({ name, description: "Edits things", permissions: ["posts:write", "posts.read"] });
  });

  it("defaults description and permissions", async () => {
    const name = uniqueRole("bare");
    const r = await s.gql(CREATE, { i: { name } }, { token: admin.accessToken });
    expect(r.data!.createRole).toEqual({ name, description: "", permissions: [] });
  });

  it("refuses a duplicate name with ROLE_ALREADY_EXISTS", async () => {
    const name = uniqueRole("dup");
    expect((await s.gql(CREATE, { i: { name } }, { token: admin.accessToken })).errors).toBeUndefined();
    const again = await s.gql(CREATE, { i: { name, permissions: ["x"] } }, { token: admin.accessToken });
    expect(codeOf(again)).toBe("ROLE_ALREADY_EXISTS");
    expect(codeOf(await s.gql(CREATE, { i: { name: "admin" } }, { token: admin.accessToken }))).toBe("ROLE_ALREADY_EXISTS");
    // the existing role is untouched
    const list = await s.gql(ROLES_Q, {}, { token: admin.accessToken });
    expect(list.data!.roles.find((x: { name: string }) => x.name === name).permissions).toEqual([]);
  });

  it("refuses an invalid role name with a field error on name", async () => {
    for (const name of ["has space", "", "x".repeat(65), "semi;colon", "$where"]) {
      const r = await s.gql(CREATE, { i: { name } }, { token: admin.accessToken });
      expect(codeOf(r), name).toBe("BAD_USER_INPUT");
      const errs = fieldErrors(r);
      expect(errs, name).toHaveLength(1);
      // The input field of CreateRoleInput is `name`: that is what a client maps the error to.
      expect(errs[0]).toMatchObject({ field: "name", code: "INVALID_ROLE_NAME" });
    }
  });

  it("refuses invalid permission names with one field error per bad entry", async () => {
    const name = uniqueRole("perms");
    const r = await s.gql(CREATE, { i: { name, permissions: ["ok-one", "bad perm", "also:ok", "{$ne:1}"] } }, { token: admin.accessToken });
    expect(codeOf(r)).toBe("BAD_USER_INPUT");
    expect(fieldErrors(r).map((f) => [f.field, f.code])).toEqual([
      ["permissions.1", "INVALID_PERMISSION_NAME"],
      ["permissions.3", "INVALID_PERMISSION_NAME"],
    ]);
    const list = await s.gql(ROLES_Q, {}, { token: admin.accessToken });
    expect(list.data!.roles.map((x: { name: string }) => x.name)).not.toContain(name);
  });

  it("refuses too many permissions and a too-long description", async () => {
    const many = Array.from({ length: 101 }, (_, i) => `p${i}`);
    const r1 = await s.gql(CREATE, { i: { name: uniqueRole("many"), permissions: many } }, { token: admin.accessToken });
    expect(codeOf(r1)).toBe("BAD_USER_INPUT");
    expect(fieldErrors(r1).map((f) => f.field)).toEqual(["permissions"]);
    const r2 = await s.gql(CREATE, { i: { name: uniqueRole("long"), description: "d".repeat(501) } }, { token: admin.accessToken });
    expect(codeOf(r2)).toBe("BAD_USER_INPUT");
    expect(fieldErrors(r2).map((f) => f.field)).toEqual(["description"]);
  });

  it("is refused to a normal user (FORBIDDEN) and to anonymous callers (UNAUTHENTICATED)", async () => {
    const u = await newUser(s);
    const name = uniqueRole("sneaky");
    expect(codeOf(await s.gql(CREATE, { i: { name, permissions: ["roles-admin"] } }, { token: u.accessToken }))).toBe("FORBIDDEN");
    expect(codeOf(await s.gql(CREATE, { i: { name } }))).toBe("UNAUTHENTICATED");
    const list = await s.gql(ROLES_Q, {}, { token: admin.accessToken });
    expect(list.data!.roles.map((x: { name: string }) => x.name)).not.toContain(name);
  });
});

describe("grantRole and revokeRole", () => {
  it("granting admin lets the user query roles on the very next request with the same token and cookie; revoking takes it away", async () => {
    const { email } = await registerUser(s);
    const u = await loginTokens(s, email);
    const c = await loginCookie(s, email);
    // warm the per-process cache of both sessions first, so a stale cache would show
    expect(codeOf(await s.gql(ROLES_Q, {}, { token: u.accessToken }))).toBe("FORBIDDEN");
    expect(codeOf(await s.gql(ROLES_Q, {}, { cookie: c.cookie }))).toBe("FORBIDDEN");
    expect((await s.gql(ME, {}, { token: u.accessToken })).data!.me.permissions).toEqual(["user-read", "user-write"]);

    const g = await s.gql(GRANT, { i: { userId: u.id, role: "admin" } }, { token: admin.accessToken });
    expect(g.errors).toBeUndefined();
    // the returned User is the updated one, and the admin may see its email
    expect(g.data!.grantRole.email).toBe(email);
    expect(roleNames(g.data!.grantRole)).toEqual(["admin", "user"]);

    const me = await s.gql(ME, {}, { token: u.accessToken });
    expect(roleNames(me.data!.me)).toEqual(["admin", "user"]);
    expect(me.data!.me.permissions).toEqual(["roles-admin", "roles-read", "user-read", "user-write", "users-admin", "users-read"]);
    expect((await s.gql(ROLES_Q, {}, { token: u.accessToken })).errors).toBeUndefined();
    expect((await s.gql(ROLES_Q, {}, { cookie: c.cookie })).errors).toBeUndefined();

    const rv = await s.gql(REVOKE, { i: { userId: u.id, role: "admin" } }, { token: admin.accessToken });
    expect(rv.errors).toBeUndefined();
    expect(roleNames(rv.data!.revokeRole)).toEqual(["user"]);
    expect(codeOf(await s.gql(ROLES_Q, {}, { token: u.accessToken }))).toBe("FORBIDDEN");
    expect(codeOf(await s.gql(ROLES_Q, {}, { cookie: c.cookie }))).toBe("FORBIDDEN");
    const after = await s.gql(ME, {}, { token: u.accessToken });
    expect(roleNames(after.data!.me)).toEqual(["user"]);
    expect(after.data!.me.permissions).toEqual(["user-read", "user-write"]);
  });

  it("is idempotent: granting a held role or revoking a missing one changes nothing", async () => {
    const u = await newUser(s);
    const g = await s.gql(GRANT, { i: { userId: u.id, role: "user" } }, { token: admin.accessToken });
    expect(roleNames(g.data!.grantRole)).toEqual(["user"]);
    const rv = await s.gql(REVOKE, { i: { userId: u.id, role: "admin" } }, { token: admin.accessToken });
    expect(rv.errors).toBeUndefined();
    expect(roleNames(rv.data!.revokeRole)).toEqual(["user"]);
  });

  it("refuses an unknown role with ROLE_DOES_NOT_EXIST and leaves the user alone", async () => {
    const u = await newUser(s);
    for (const q of [GRANT, REVOKE]) {
      const r = await s.gql(q, { i: { userId: u.id, role: uniqueRole("ghost") } }, { token: admin.accessToken });
      expect(codeOf(r)).toBe("ROLE_DOES_NOT_EXIST");
    }
    expect(roleNames((await s.gql(ME, {}, { token: u.accessToken })).data!.me)).toEqual(["user"]);
  });

  it("refuses an invalid role name with BAD_USER_INPUT on role", async () => {
    const u = await newUser(s);
    const r = await s.gql(GRANT, { i: { userId: u.id, role: "no such role!" } }, { token: admin.accessToken });
    expect(codeOf(r)).toBe("BAD_USER_INPUT");
    expect(fieldErrors(r)[0]).toMatchObject({ field: "role", code: "INVALID_ROLE_NAME" });
  });

  it("refuses unknown and malformed user ids with USER_DOES_NOT_EXIST", async () => {
    for (const userId of ["0123456789abcdef01234567", "not-an-id", "", "{\"$ne\":null}"]) {
      for (const q of [GRANT, REVOKE]) {
        const r = await s.gql(q, { i: { userId, role: "admin" } }, { token: admin.accessToken });
        expect(codeOf(r), `${userId}`).toBe("USER_DOES_NOT_EXIST");
      }
    }
  });

  it("is refused to a normal user, who cannot make themselves admin", async () => {
    const u = await newUser(s);
    const r = await s.gql(GRANT, { i: { userId: u.id, role: "admin" } }, { token: u.accessToken });
    expect(codeOf(r)).toBe("FORBIDDEN");
    expect(codeOf(await s.gql(REVOKE, { i: { userId: admin.id, role: "admin" } }, { token: u.accessToken }))).toBe("FORBIDDEN");
    expect(roleNames((await s.gql(ME, {}, { token: u.accessToken })).data!.me)).toEqual(["user"]);
    expect((await s.gql(ROLES_Q, {}, { token: admin.accessToken })).errors).toBeUndefined();
  });
});

describe("addPermissions and removePermissions", () => {
  it("change a role's permissions, seen by its holders on their next request", async () => {
    const name = uniqueRole("reader");
    expect((await s.gql(CREATE, { i: { name, permissions: ["a-perm"] } }, { token: admin.accessToken })).errors).toBeUndefined();
    const u = await newUser(s);
    expect((await s.gql(GRANT, { i: { userId: u.id, role: name } }, { token: admin.accessToken })).errors).toBeUndefined();
    expect((await s.gql(ME, {}, { token: u.accessToken })).data!.me.permissions).toEqual(["a-perm", "user-read", "user-write"]);
    expect(codeOf(await s.gql(ROLES_Q, {}, { token: u.accessToken }))).toBe("FORBIDDEN");

    const add = await s.gql(ADD_PERMS, { i: { role: name, permissions: ["roles-read", "a-perm", "b:perm"] } }, { token: admin.accessToken });
    expect(add.errors).toBeUndefined();
    expect(add.data!.addPermissions).toEqual({ name, permissions: ["a-perm", "roles-read", "b:perm"] });
    expect((await s.gql(ME, {}, { token: u.accessToken })).data!.me.permissions).toEqual(["a-perm", "b:perm", "roles-read", "user-read", "user-write"]);
    expect((await s.gql(ROLES_Q, {}, { token: u.accessToken })).errors).toBeUndefined();

    const rm = await s.gql(REMOVE_PERMS, { i: { role: name, permissions: ["roles-read", "a-perm", "never-had"] } }, { token: admin.accessToken });
    expect(rm.errors).toBeUndefined();
    expect(rm.data!.removePermissions).toEqual({ name, permissions: ["b:perm"] });
    expect(codeOf(await s.gql(ROLES_Q, {}, { token: u.accessToken }))).toBe("FORBIDDEN");
    expect((await s.gql(ME, {}, { token: u.accessToken })).data!.me.permissions).toEqual(["b:perm", "user-read", "user-write"]);
  });

  it("refuse an unknown role, invalid names, and callers without roles-admin", async () => {
    const ghost = uniqueRole("ghost");
    expect(codeOf(await s.gql(ADD_PERMS, { i: { role: ghost, permissions: ["x"] } }, { token: admin.accessToken }))).toBe("ROLE_DOES_NOT_EXIST");
    expect(codeOf(await s.gql(REMOVE_PERMS, { i: { role: ghost, permissions: ["x"] } }, { token: admin.accessToken }))).toBe("ROLE_DOES_NOT_EXIST");
    const bad = await s.gql(ADD_PERMS, { i: { role: "user", permissions: ["fine", "not fine"] } }, { token: admin.accessToken });
    expect(codeOf(bad)).toBe("BAD_USER_INPUT");
    expect(fieldErrors(bad).map((f) => f.field)).toEqual(["permissions.1"]);
    const u = await newUser(s);
    expect(codeOf(await s.gql(ADD_PERMS, { i: { role: "user", permissions: ["roles-admin"] } }, { token: u.accessToken }))).toBe("FORBIDDEN");
    expect(codeOf(await s.gql(REMOVE_PERMS, { i: { role: "admin", permissions: ["roles-admin"] } }, { token: u.accessToken }))).toBe("FORBIDDEN");
    const list = await s.gql(ROLES_Q, {}, { token: admin.accessToken });
    expect(list.data!.roles.find((x: { name: string }) => x.name === "user").permissions.sort()).toEqual(["user-read", "user-write"]);
    expect(list.data!.roles.find((x: { name: string }) => x.name === "admin").permissions).toContain("roles-admin");
  });
});

describe("freshness of role administration", () => {
  let f: TestServer;
  beforeAll(async () => {
    f = await startTestServer({ freshness: { maxAgeSeconds: 1, graceSeconds: 0 } });
  });
  afterAll(() => f.close());

  it("asks a stale admin to re-authenticate (REAUTH_REQUIRED), and verifyPassword makes the call work", async () => {
    const a = await newUser(f);
    await makeAdmin(f, a.id);
    const target = await newUser(f);
    // fresh right after sign-in
    expect((await f.gql(CREATE, { i: { name: uniqueRole("early") } }, { token: a.accessToken })).errors).toBeUndefined();
    await new Promise((r) => setTimeout(r, 2200));

    const name = uniqueRole("late");
    const stale = await f.gql(CREATE, { i: { name } }, { token: a.accessToken });
    expect(codeOf(stale)).toBe("REAUTH_REQUIRED");
    const ext = stale.errors![0]!.extensions!;
    expect(ext.maxAgeSeconds).toBe(1);
    expect(typeof ext.verifiedAt).toBe("string");
    expect(Date.now() - new Date(ext.verifiedAt as string).getTime()).toBeGreaterThanOrEqual(2000);
    expect(codeOf(await f.gql(GRANT, { i: { userId: target.id, role: "admin" } }, { token: a.accessToken }))).toBe("REAUTH_REQUIRED");
    // reading needs no freshness
    expect((await f.gql(ROLES_Q, {}, { token: a.accessToken })).errors).toBeUndefined();
    // nothing happened
    expect((await f.gql(ROLES_Q, {}, { token: a.accessToken })).data!.roles.map((x: { name: string }) => x.name)).not.toContain(name);

    const v = await f.gql(VERIFY, { p: TEST_PASSWORD }, { token: a.accessToken });
    expect(v.errors).toBeUndefined();
    const ok = await f.gql(CREATE, { i: { name } }, { token: a.accessToken });
    expect(ok.errors).toBeUndefined();
    expect(ok.data!.createRole.name).toBe(name);
  });

  it("a wrong password does not make the session fresh", async () => {
    const a = await newUser(f);
    await makeAdmin(f, a.id);
    await new Promise((r) => setTimeout(r, 2200));
    expect(codeOf(await f.gql(VERIFY, { p: "definitely wrong" }, { token: a.accessToken }))).toBe("INVALID_PASSWORD");
    expect(codeOf(await f.gql(CREATE, { i: { name: uniqueRole("x") } }, { token: a.accessToken }))).toBe("REAUTH_REQUIRED");
  });
});
