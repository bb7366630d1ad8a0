// Passkeys in the second step of a sign-in: a SECONDARY passkey is offered as method PASSKEY and
// finishes the flow; another user's passkey, a replayed assertion and a challenge of another flow
// user are refused; a FIRST passkey sign-in without user verification still owes the second factor.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/core/clock.js";
import { codeOf, TEST_PASSWORD, newAdmin, newUser, startTestServer, type TestServer } from "../support/server.js";
import { SoftAuthenticator } from "../support/webauthn-authenticator.js";
import { passkeySignIn, registerPasskey, signInOptions } from "../support/webauthn-flow.js";
import { totpFor } from "../support/totp.js";
import { TF } from "../support/two-factor.js";

const PUBLIC_URL = "http://localhost:4000";
const OPTIONS = /* GraphQL */ `mutation($f: String!) { wanSecondFactorOptions(input: { flowId: $f }) { options expiresAt } }`;
const FINISH = /* GraphQL */ `mutation($f: String!, $c: String!) { wanSecondFactor(input: { flowId: $f, credential: $c }) { session { methods } tokens { accessToken } } }`;

describe("passkey as a second factor", () => {
  let s: TestServer;
  const clock = new ManualClock();
  beforeAll(async () => {
    s = await startTestServer({ publicUrl: PUBLIC_URL }, clock);
  });
  afterAll(() => s?.close());

  const flowOf = async (email: string): Promise<{ flowId: string; methods: string[] }> => {
    const r = await s.gql(TF.LOGIN, { input: { identity: email, password: TEST_PASSWORD, delivery: "TOKENS" } });
    expect(r.data?.login.__typename).toBe("SecondFactorRequired");
    return r.data?.login;
  };

  it("a SECONDARY passkey makes password sign-in ask for it, and answers the flow", async () => {
    const u = await newUser(s);
    const auth = new SoftAuthenticator(PUBLIC_URL);
    await registerPasskey(s, u.accessToken, auth, { usage: "SECONDARY" });
    const step = await flowOf(u.email);
    expect(step.methods).toEqual(["PASSKEY"]);
    const options = (await s.gql(OPTIONS, { f: step.flowId })).data?.wanSecondFactorOptions.options;
    expect(JSON.parse(options).allowCredentials).toHaveLength(1);
    const credential = auth.get(options);
    const r = await s.gql(FINISH, { f: step.flowId, c: credential });
    expect(r.errors).toBeUndefined();
    expect(r.data?.wanSecondFactor.session.methods).toEqual(["pwd", "hwk"]);
    // the same assertion again, in a new flow: refused
    const again = await flowOf(u.email);
    expect(codeOf(await s.gql(FINISH, { f: again.flowId, c: credential }))).toBe("WEBAUTHN_EXPIRED");
  });

  it("another user's passkey cannot finish my flow, nor a challenge issued for another user's flow", async () => {
    const a = await newUser(s);
    const b = await newUser(s);
    const authA = new SoftAuthenticator(PUBLIC_URL);
    const authB = new SoftAuthenticator(PUBLIC_URL);
    await registerPasskey(s, a.accessToken, authA, { usage: "SECONDARY" });
    await registerPasskey(s, b.accessToken, authB, { usage: "SECONDARY" });
    const fa = await flowOf(a.email);
    const fb = await flowOf(b.email);
    // B answers B's own challenge with B's passkey, but presents it to A's flow
    const optionsB = (await s.gql(OPTIONS, { f: fb.flowId })).data?.wanSecondFactorOptions.options;
    expect(codeOf(await s.gql(FINISH, { f: fa.flowId, c: authB.get(optionsB) }))).toBe("WEBAUTHN_EXPIRED");
    // B's passkey on a challenge of A's flow: not one of A's credentials
    const optionsA = (await s.gql(OPTIONS, { f: fa.flowId })).data?.wanSecondFactorOptions.options;
    const forged = authB.get(optionsA, { credential: authB.credentials[0] });
    expect(codeOf(await s.gql(FINISH, { f: fa.flowId, c: forged }))).toBe("WEBAUTHN_UNKNOWN_CREDENTIAL_ID");
    // A's own passkey still works on A's flow
    const optionsA2 = (await s.gql(OPTIONS, { f: fa.flowId })).data?.wanSecondFactorOptions.options;
    expect((await s.gql(FINISH, { f: fa.flowId, c: authA.get(optionsA2) })).errors).toBeUndefined();
  });

  it("a flow without PASSKEY among its methods gets no passkey options", async () => {
    const u = await newUser(s);
    const secret: string = (await s.gql(TF.SETUP, { input: { method: "AUTHENTICATOR" } }, { token: u.accessToken })).data?.setupTwoFactor.secret;
    clock.advance(30_000);
    await s.gql(TF.CONFIRM, { code: totpFor(secret, clock.now()) }, { token: u.accessToken });
    const step = await flowOf(u.email);
    expect(step.methods).toEqual(["AUTHENTICATOR"]);
    expect(codeOf(await s.gql(OPTIONS, { f: step.flowId }))).toBe("TWO_FACTOR_METHOD_NOT_AVAILABLE");
  });

  it("a FIRST passkey without user verification is one factor: a user with a second factor still owes it", async () => {
    const u = await newUser(s);
    const auth = new SoftAuthenticator(PUBLIC_URL);
    await registerPasskey(s, u.accessToken, auth, { usage: "FIRST" });
    const secret: string = (await s.gql(TF.SETUP, { input: { method: "AUTHENTICATOR" } }, { token: u.accessToken })).data?.setupTwoFactor.secret;
    clock.advance(30_000);
    await s.gql(TF.CONFIRM, { code: totpFor(secret, clock.now()) }, { token: u.accessToken });
    auth.flags = { up: true, uv: false };
    const r = await passkeySignIn(s, auth);
    expect(r.data?.wanSignIn.__typename).toBe("SecondFactorRequired");
    // with user verification (PIN, biometrics) it counts as both factors (passkeySatisfiesBothFactors)
    auth.flags = { up: true, uv: true };
    const both = await passkeySignIn(s, auth);
    expect(both.data?.wanSignIn.__typename).toBe("SignedIn");
    expect(both.data?.wanSignIn.session.methods).toEqual(["hwk", "mfa"]);
  });

  it("the FIRST passkey that began the sign-in cannot also be its second factor; only SECONDARY passkeys are offered and accepted", async () => {
    const u = await newUser(s);
    const first = new SoftAuthenticator(PUBLIC_URL);
    const second = new SoftAuthenticator(PUBLIC_URL);
    await registerPasskey(s, u.accessToken, first, { usage: "FIRST" });
    const secondary = await registerPasskey(s, u.accessToken, second, { usage: "SECONDARY" });
    first.flags = { up: true, uv: false }; // no user verification: one factor
    const r = await s.gql(`mutation($c: String!) { wanSignIn(input: { credential: $c, delivery: TOKENS }) { __typename ... on SecondFactorRequired { flowId methods } } }`, {
      c: first.get(await signInOptions(s)),
    });
    expect(r.data?.wanSignIn).toMatchObject({ __typename: "SecondFactorRequired", methods: ["PASSKEY"] });
    const flowId: string = r.data?.wanSignIn.flowId;
    const options = (await s.gql(OPTIONS, { f: flowId })).data?.wanSecondFactorOptions.options;
    expect(JSON.parse(options).allowCredentials.map((c: { id: string }) => c.id)).toEqual([secondary.id]);
    // the same FIRST passkey again, on this flow's own challenge: refused
    expect(codeOf(await s.gql(FINISH, { f: flowId, c: first.get(options, { credential: first.credentials[0] }) }))).toBe("WEBAUTHN_CREDENTIAL_WRONG_USAGE");
    // the SECONDARY one finishes it
    const options2 = (await s.gql(OPTIONS, { f: flowId })).data?.wanSecondFactorOptions.options;
    const done = await s.gql(FINISH, { f: flowId, c: second.get(options2) });
    expect(done.errors).toBeUndefined();
    expect(done.data?.wanSecondFactor.session.methods).toEqual(["hwk", "hwk"]);
  });

  it("resetUserAccess (a compromised account) removes the second factor, recovery codes and passkeys; the password still signs in", async () => {
    const admin = await newAdmin(s);
    const u = await newUser(s);
    const auth = new SoftAuthenticator(PUBLIC_URL);
    await registerPasskey(s, u.accessToken, auth, { usage: "FIRST" });
    const secret: string = (await s.gql(TF.SETUP, { input: { method: "AUTHENTICATOR" } }, { token: u.accessToken })).data?.setupTwoFactor.secret;
    clock.advance(30_000);
    expect((await s.gql(TF.CONFIRM, { code: totpFor(secret, clock.now()) }, { token: u.accessToken })).errors).toBeUndefined();
    expect((await flowOf(u.email)).methods).toContain("AUTHENTICATOR");
    const pending = await flowOf(u.email);

    const r = await s.gql(`mutation($i: ResetUserAccessInput!) { resetUserAccess(input: $i) { id } }`, { i: { userId: u.id } }, { token: admin.accessToken });
    expect(r.errors).toBeUndefined();

    // the flow begun before the reset is dead, even with a correct code
    clock.advance(30_000);
    expect(codeOf(await s.gql(TF.VERIFY, { input: { flowId: pending.flowId, method: "AUTHENTICATOR", code: totpFor(secret, clock.now()) } }))).toBe("SIGN_IN_FLOW_INVALID");
    // the passkey no longer signs in
    expect(codeOf(await passkeySignIn(s, auth))).toBe("WEBAUTHN_UNKNOWN_CREDENTIAL_ID");
    // the password alone signs in again, in one step, and nothing of the second factor is left
    const back = await s.gql(TF.LOGIN, { input: { identity: u.email, password: TEST_PASSWORD, delivery: "TOKENS" } });
    expect(back.data?.login.__typename).toBe("SignedIn");
    const token: string = back.data?.login.tokens.accessToken;
    expect((await s.gql(TF.STATUS, {}, { token })).data?.twoFactor).toMatchObject({ enabled: false, methods: [], recoveryCodesLeft: 0 });
    expect((await s.gql(`{ wanCredentials { id } }`, {}, { token })).data?.wanCredentials).toEqual([]);
  });
});
