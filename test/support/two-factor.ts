// GraphQL documents and readers shared by the second-factor and unified sign-in tests.
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

