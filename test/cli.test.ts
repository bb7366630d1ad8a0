// The command-line tool as a real subprocess (`node bin/gql-auth.mjs …`, from another working
// directory), on the same database as a running test server, proven through that server's GraphQL API.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliFor, type RunCli } from "./support/cli.js";
import { startTestServer, registerUser, loginTokens, loginCookie, LOGIN, ME, codeOf, uniqueEmail, TEST_PASSWORD, type TestServer } from "./support/server.js";
import type { Json } from "./support/json.js";

const ROLES = `query { roles { name description permissions } }`;
const ADMIN_PERMISSIONS = ["roles-admin", "roles-read", "users-admin", "users-read"];
/**
 * Revocations and role changes made by the CLI reach the running server through the revocation
 * feed, which it reads every sessions.revocationPollMs (500 ms by default). 2 s bounds that poll
 * plus a request on a busy 2-core machine.
 */
const FEED_BOUND_MS = 2000;

let s: TestServer;
let cli: RunCli;

/** Runs the CLI and fails with its output unless it exited 0; returns its --json output parsed. */

async function cliOk<T = Record<string, Json>>(args: string[], input = ""): Promise<T> {
  const r = await cli([...args, "--json"], input);
  if (r.code !== 0) throw new Error(`gql-auth ${args.join(" ")} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** Polls `probe` every 100 ms; fails unless it returns true within `ms`. */
async function within(ms: number, probe: () => Promise<boolean>): Promise<void> {
  const start = Date.now();
  while (!(await probe())) {
    if (Date.now() - start > ms) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const meCode = async (token: string) => codeOf(await s.gql(ME, {}, { token }));
const permissionsOf = async (token: string): Promise<string[]> => (await s.gql(ME, {}, { token })).data?.me?.permissions ?? [];

beforeAll(async () => {
  const dbName = `t_cli_${randomBytes(6).toString("hex")}`;
  s = await startTestServer({}, undefined, { dbName });
  cli = cliFor(s, dbName);
});
afterAll(() => s?.close());

describe("users create", () => {
  it("creates a user who can sign in by email and username, with the default roles; show reports roles and tracking", async () => {
    const email = uniqueEmail("cli");
    const username = `cli${randomBytes(3).toString("hex")}`;
    const created = await cliOk(["users", "create", email, "--username", username, "--password", TEST_PASSWORD, "--confirmed"]);
    expect(created.user).toMatchObject({ email, username, active: true, roles: ["user"], permissions: ["user-read", "user-write"] });
    expect(created.user.confirmedAt).toEqual(expect.any(String));

    const byEmail = await loginTokens(s, email);
    const me = await s.gql(ME, {}, { token: byEmail.accessToken });
    expect(me.data!.me).toMatchObject({ id: created.user.id, email, username, active: true, roles: [{ name: "user" }], permissions: ["user-read", "user-write"] });
    expect((await loginTokens(s, username.toUpperCase())).id).toBe(created.user.id);

    const [shown, again] = await Promise.all([cliOk(["users", "show", username]), cli(["users", "create", email.toUpperCase(), "--password", TEST_PASSWORD])]);
    expect(shown.user).toMatchObject({ id: created.user.id, email, roles: ["user"], liveSessions: 2 });
    expect(shown.user.tracking.loginCount).toBe(2);
    expect(shown.user.tracking.currentLoginIp).toMatch(/127\.0\.0\.1/);
    // an admin tool: an existing email is an error, not a generic answer
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already associated.*EMAIL_ALREADY_ASSOCIATED/);
  }, 60_000);

  it("refuses a password that breaks the rule with exit 1, the rule in the message, and no user", async () => {
    const email = uniqueEmail("cli-short");
    const [short, unknownRole] = await Promise.all([
      cli(["users", "create", email, "--password", "short"]),
      cli(["users", "create", uniqueEmail("cli-role"), "--password", TEST_PASSWORD, "--role", "no-such-role"]),
    ]);
    expect(short.code).toBe(1);
    expect(short.stderr).toMatch(/password: The password must be 8 to 128 characters long\. \(PASSWORD_INVALID_LENGTH\)/);
    expect(short.stdout).toBe("");
    expect(unknownRole.code).toBe(1);
    expect(unknownRole.stderr).toMatch(/no such role: no-such-role/);
    expect(await s.running.app.models.User.countDocuments({ emailKey: email.toLowerCase() })).toBe(0);
    expect(codeOf(await s.gql(LOGIN, { input: { identity: email, password: "short" } }))).toBe("GENERIC_AUTHN_FAILED");
  }, 60_000);
});

describe("usage", () => {
  it("exits 2 with a helpful message on usage errors, before touching the database; --help exits 0", async () => {
    const [noPassword, both, unknownCmd, missingArg, unknownOpt, nothing, help] = await Promise.all([
      cli(["users", "create", uniqueEmail()]),
      cli(["users", "change-password", "someone", "--password", TEST_PASSWORD, "--password-stdin"]),
      cli(["users", "frobnicate"]),
      cli(["roles", "add", "someone@example.com"]),
      cli(["users", "show", "someone", "--bogus"]),
      cli([]),
      cli(["users", "create", "--help"]),
    ]);
    for (const r of [noPassword, both, unknownCmd, missingArg, unknownOpt, nothing]) {
      expect(r.code).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(/usage: gql-auth/);
    }
    expect(noPassword.stderr).toMatch(/a password is required: give --password P or --password-stdin/);
    expect(both.stderr).toMatch(/either --password or --password-stdin, not both/);
    expect(unknownCmd.stderr).toMatch(/unknown command "users frobnicate"[\s\S]*change-password/);
    expect(missingArg.stderr).toMatch(/missing <role>[\s\S]*gql-auth roles add <identity> <role>/);
    expect(unknownOpt.stderr).toMatch(/Unknown option '--bogus'/);
    expect(nothing.stderr).toMatch(/missing <group>[\s\S]*users[\s\S]*roles[\s\S]*keys/);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/usage: gql-auth users create <email>[\s\S]*--password-stdin[\s\S]*--role R/);
  }, 60_000);

  it("fails with exit 1 for an unknown user", async () => {
    const r = await cli(["users", "deactivate", uniqueEmail("nobody")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no user with email, username or id/);
  }, 30_000);
});

describe("account administration reaches the running server", () => {
  it("deactivate: the user's existing token fails within the feed bound and login says DISABLED_ACCOUNT; activate lets them in again", async () => {
    const { email } = await registerUser(s);
    const t = await loginTokens(s, email);
    const c = await loginCookie(s, email);
    expect(await meCode(t.accessToken)).toBeUndefined(); // warms the server's per-process cache
    expect((await s.gql(ME, {}, { cookie: c.cookie })).data!.me.id).toBe(t.id);

    const off = await cliOk(["users", "deactivate", t.id]); // by id
    await within(FEED_BOUND_MS, async () => (await meCode(t.accessToken)) === "UNAUTHENTICATED");
    expect(off.user).toMatchObject({ id: t.id, active: false });
    expect(codeOf(await s.gql(ME, {}, { cookie: c.cookie }))).toBe("UNAUTHENTICATED");
    expect(codeOf(await s.gql(LOGIN, { input: { identity: email, password: TEST_PASSWORD, delivery: "TOKENS" } }))).toBe("DISABLED_ACCOUNT");

    const on = await cliOk(["users", "activate", email]);
    expect(on.user).toMatchObject({ id: t.id, active: true });
    const again = await loginTokens(s, email);
    expect((await s.gql(ME, {}, { token: again.accessToken })).data!.me).toMatchObject({ id: t.id, active: true });
    expect(await meCode(t.accessToken)).toBe("UNAUTHENTICATED"); // sessions from before stay dead
  }, 60_000);

  it("change-password (from stdin) kills existing sessions; only the new password works", async () => {
    const { email } = await registerUser(s);
    const t = await loginTokens(s, email);
    expect(await meCode(t.accessToken)).toBeUndefined();
    const newPassword = "a brand new passphrase";
    await cliOk(["users", "change-password", email, "--password-stdin"], `${newPassword}\n`);
    await within(FEED_BOUND_MS, async () => (await meCode(t.accessToken)) === "UNAUTHENTICATED");
    expect(codeOf(await s.gql(LOGIN, { input: { identity: email, password: TEST_PASSWORD } }))).toBe("GENERIC_AUTHN_FAILED");
    const fresh = await loginTokens(s, email, newPassword);
    expect(await meCode(fresh.accessToken)).toBeUndefined();
  }, 60_000);

  it("reset-access kills every session; the password still works", async () => {
    const { email } = await registerUser(s);
    const t = await loginTokens(s, email);
    const c = await loginCookie(s, email);
    expect(await meCode(t.accessToken)).toBeUndefined();
    await cliOk(["users", "reset-access", email]);
    await within(FEED_BOUND_MS, async () => (await meCode(t.accessToken)) === "UNAUTHENTICATED");
    expect(codeOf(await s.gql(ME, {}, { cookie: c.cookie }))).toBe("UNAUTHENTICATED");
    expect(await meCode((await loginTokens(s, email)).accessToken)).toBeUndefined();
  }, 60_000);
});

describe("roles", () => {
  it("roles add/remove change me { permissions }; roles create, add-permissions and remove-permissions show in the roles query", async () => {
    const { email } = await registerUser(s);
    const t = await loginTokens(s, email);
    expect(await permissionsOf(t.accessToken)).toEqual(["user-read", "user-write"]);
    const role = `cli-role-${randomBytes(3).toString("hex")}`;

    const [granted, created] = await Promise.all([
      cliOk(["roles", "add", email, "admin"]),
      cliOk(["roles", "create", role, "--description", "Made by the CLI", "--permissions", "reports-read,reports-write"]),
    ]);
    expect(granted.user.roles).toEqual(["user", "admin"]);
    expect(created.role).toEqual({ name: role, description: "Made by the CLI", permissions: ["reports-read", "reports-write"] });
    await within(FEED_BOUND_MS, async () => (await permissionsOf(t.accessToken)).includes("users-admin"));
    expect(await permissionsOf(t.accessToken)).toEqual([...ADMIN_PERMISSIONS, "user-read", "user-write"].sort());

    const roleInApi = async () => {
      const r = await s.gql(ROLES, {}, { token: t.accessToken });
      if (r.errors) throw new Error(`roles query failed: ${JSON.stringify(r.errors)}`);
      return (r.data!.roles as Array<{ name: string; description: string; permissions: string[] }>).find((x) => x.name === role);
    };
    // The role reaches the server through the revocation feed like the grant, but as its own entry:
    // seeing the grant does not mean the roles cache has reloaded yet.
    await within(FEED_BOUND_MS, async () => (await roleInApi()) !== undefined);
    expect(await roleInApi()).toEqual({ name: role, description: "Made by the CLI", permissions: ["reports-read", "reports-write"] });

    await cliOk(["roles", "add-permissions", role, "reports-export,reports-delete"]);
    await within(FEED_BOUND_MS, async () => (await roleInApi())?.permissions.includes("reports-export") ?? false);
    expect((await roleInApi())!.permissions.sort()).toEqual(["reports-delete", "reports-export", "reports-read", "reports-write"]);

    const removed = await cliOk(["roles", "remove-permissions", role, "reports-write", "reports-delete"]);
    expect(removed.role.permissions).toEqual(["reports-export", "reports-read"]);
    await within(FEED_BOUND_MS, async () => !((await roleInApi())?.permissions.includes("reports-write") ?? true));
    expect((await roleInApi())!.permissions.sort()).toEqual(["reports-export", "reports-read"]);

    const [revoked, listed] = await Promise.all([cliOk(["roles", "remove", email, "admin"]), cliOk(["roles", "list"])]);
    expect(revoked.user.roles).toEqual(["user"]);
    expect(listed.roles).toContainEqual({ name: role, description: "Made by the CLI", permissions: ["reports-export", "reports-read"] });
    await within(FEED_BOUND_MS, async () => !(await permissionsOf(t.accessToken)).includes("users-admin"));
    expect(await permissionsOf(t.accessToken)).toEqual(["user-read", "user-write"]);
  }, 90_000);

  it("refuses an unknown role and an invalid role name with exit 1", async () => {
    const { email } = await registerUser(s);
    const [unknown, invalid] = await Promise.all([cli(["roles", "add", email, "no-such-role"]), cli(["roles", "create", "bad name!"])]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/ROLE_DOES_NOT_EXIST/);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/INVALID_ROLE_NAME/);
  }, 60_000);
});

describe("keys", () => {
  const jwksKids = async () => ((await (await fetch(`${s.url}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string }> }).keys.map((k) => k.kid);
  const kidOf = (token: string) => (JSON.parse(Buffer.from(token.split(".")[0] as string, "base64url").toString()) as { kid: string }).kid;
  type Listed = { kid: string; keys: Array<{ kid: string; status: string; retiredAt: string | null }> };

  it("rotate publishes a pending key first; --now makes a new key sign at once; old keys keep verifying", async () => {
    const { email } = await registerUser(s);
    const before = await loginTokens(s, email);
    const oldKids = await jwksKids();
    expect(oldKids).toContain(kidOf(before.accessToken));

    // Planned rotation: published now, signing only after tokens.keyActivationDelaySeconds.
    const planned = await cliOk<Listed>(["keys", "rotate"]);
    expect(oldKids).not.toContain(planned.kid);
    expect(planned.keys.find((k) => k.kid === planned.kid)?.status).toBe("pending");
    expect(planned.keys.find((k) => k.kid === kidOf(before.accessToken))?.status).toBe("signing");
    await s.running.app.keys.reload(); // what the server does every tokens.keyRefreshSeconds
    expect(await jwksKids()).toEqual(expect.arrayContaining([...oldKids, planned.kid]));
    expect(kidOf((await loginTokens(s, email)).accessToken)).toBe(kidOf(before.accessToken));

    // Emergency rotation: signs at once and replaces the pending key.
    const urgent = await cliOk<Listed>(["keys", "rotate", "--now"]);
    expect(urgent.keys.find((k) => k.kid === urgent.kid)?.status).toBe("signing");
    expect(urgent.keys.find((k) => k.kid === planned.kid)).toBeUndefined();
    await s.running.app.keys.reload();
    const after = await loginTokens(s, email);
    expect(kidOf(after.accessToken)).toBe(urgent.kid);
    expect(await meCode(after.accessToken)).toBeUndefined();
    expect(await meCode(before.accessToken)).toBeUndefined();

    const listed = await cliOk<Listed>(["keys", "list"]);
    expect(listed.keys.filter((k) => k.status === "signing").map((k) => k.kid)).toEqual([urgent.kid]);
    for (const kid of oldKids) expect(listed.keys.find((k) => k.kid === kid)).toMatchObject({ status: "verifying", retiredAt: expect.any(String) });
  }, 60_000);
});
