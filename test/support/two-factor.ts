// GraphQL documents and readers shared by the second-factor and unified sign-in tests.
import type { Clock } from "../../src/core/clock.js";
import { closeMailTestServer, startMailTestServer, type MailTestServer } from "./mail-flow.js";
import { SMS_ACCOUNT, startSmsServer, type TestSmsServer } from "./sms.js";
import type { ReceivedMail } from "./smtp.js";

export const TF = {
  SETUP: /* GraphQL */ `mutation($input: SetupTwoFactorInput!) { setupTwoFactor(input: $input) { method secret otpauthUri qrCode sentTo expiresAt } }`,
  CONFIRM: /* GraphQL */ `mutation($code: String!) { confirmTwoFactorSetup(input: { code: $code }) { enabled methods phone recoveryCodesLeft required } }`,
  STATUS: /* GraphQL */ `{ twoFactor { enabled methods phone recoveryCodesLeft required } }`,
  DISABLE: /* GraphQL */ `mutation($m: TwoFactorMethod) { disableTwoFactor(input: { method: $m }) { enabled methods } }`,
  RECOVERY: /* GraphQL */ `mutation { generateRecoveryCodes { codes createdAt } }`,
  LOGIN: /* GraphQL */ `mutation($input: LoginInput!) { login(input: $input) { __typename
    ... on SignedIn { user { id } session { methods } tokens { accessToken refreshToken } rememberDeviceToken }
    ... on SecondFactorRequired { flowId methods setupRequired expiresAt } } }`,
  SEND: /* GraphQL */ `mutation($flowId: String!, $method: SecondFactorMethod!) { sendTwoFactorCode(input: { flowId: $flowId, method: $method }) { sentTo expiresAt } }`,
  VERIFY: /* GraphQL */ `mutation($input: VerifyTwoFactorInput!) { verifyTwoFactor(input: $input) { user { id email } session { methods } tokens { accessToken refreshToken } rememberDeviceToken } }`,
  SETUP_IN_FLOW: /* GraphQL */ `mutation($input: SetupTwoFactorInFlowInput!) { setupTwoFactorInFlow(input: $input) { method secret sentTo } }`,
};

/** The one-time code in a code mail. */
export const mailCode = (m: ReceivedMail): string => {
  const hit = /\b[0-9]{6}\b/.exec(m.text);
  if (!hit) throw new Error(`no code in: ${m.text}`);
  return hit[0];
};


export interface CodeTestServer extends MailTestServer {
  sms: TestSmsServer;
}

/** A test server whose mail goes to a real SMTP server and whose SMS go through the real adapter to the test SMS server. */
export async function startCodeTestServer(overrides: Record<string, unknown>, clock?: Clock): Promise<CodeTestServer> {
  const sms = await startSmsServer();
  try {
    const { s, smtp } = await startMailTestServer({ ...overrides, sms: { provider: "twilio", apiBaseUrl: sms.url, ...SMS_ACCOUNT } }, clock);
    return { s, smtp, sms };
  } catch (err) {
    await sms.close();
    throw err;
  }
}

/** For afterAll (t is undefined when beforeAll failed). */
export async function closeCodeTestServer(t: CodeTestServer | undefined): Promise<void> {
  await closeMailTestServer(t?.s, t?.smtp);
  await t?.sms.close();
}
