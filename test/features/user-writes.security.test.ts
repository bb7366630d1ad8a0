// FerretDB v1 writes an update back as the whole document: two concurrent updates of different
// fields of one user can lose one. Sign-ins (the one frequent writer per user) therefore never write
// the user document; this test races sign-ins against password changes and deactivations of the
// same user and checks that the security write always survives. It failed (a lost uniquifier in
// about half of the rounds) while login tracking lived on the user document.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOGIN, TEST_PASSWORD, registerUser, startTestServer, type TestServer } from "../support/server.js";

describe("security writes of a user survive concurrent sign-ins", () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(() => s.close());

  it("a password change racing sign-ins keeps its new hash and uniquifier", async () => {
    const { email } = await registerUser(s);
    const user = (await s.running.app.users.findByEmailKey(email))!;
    for (let round = 0; round < 12; round++) {
      const password = `new passphrase number ${round}`;
      const current = round === 0 ? TEST_PASSWORD : `new passphrase number ${round - 1}`;
      const logins = Array.from({ length: 3 }, () => s.gql(LOGIN, { input: { identity: email, password: current, delivery: "TOKENS" } }));
      const [changed] = await Promise.all([s.running.app.users.setPassword(user._id, password), ...logins]);
      const stored = await s.running.app.models.User.findById(user._id).lean();
      expect(stored!.uniquifier, `round ${round}`).toBe(changed.uniquifier);
      const r = await s.gql(LOGIN, { input: { identity: email, password, delivery: "TOKENS" } });
      expect(r.data?.login.__typename, `round ${round}: the new password works`).toBe("SignedIn");
    }
  });

  it("a uniquifier rotation racing the last step of sign-ins (the tracking write) keeps its value", async () => {
    const { email } = await registerUser(s);
    const user = (await s.running.app.users.findByEmailKey(email))!;
    const { CookieJar } = await import("../../src/core/cookies.js");
    const req = () => ({ delivery: "tokens" as const, method: "pwd", client: { ip: "127.0.0.1", userAgent: "test" }, cookies: new CookieJar({}, s.config.sessions) });
    for (let round = 0; round < 20; round++) {
      const [rotated] = await Promise.all([
        s.running.app.users.rotateUniquifier(user._id),
        ...Array.from({ length: 4 }, () => s.running.app.signIn.complete(user, req())),
      ]);
      expect((await s.running.app.models.User.findById(user._id).lean())!.uniquifier, `round ${round}`).toBe(rotated.uniquifier);
    }
  });

  it("a deactivation racing sign-ins stays", async () => {
    for (let round = 0; round < 6; round++) {
      const { email } = await registerUser(s);
      const user = (await s.running.app.users.findByEmailKey(email))!;
      const logins = Array.from({ length: 3 }, () => s.gql(LOGIN, { input: { identity: email, password: TEST_PASSWORD } }));
      await Promise.all([s.running.app.users.setActive(user._id, false), ...logins]);
      expect((await s.running.app.models.User.findById(user._id).lean())!.active, `round ${round}`).toBe(false);
    }
  });
});
