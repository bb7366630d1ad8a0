// GraphQL operations and small flows of the passkey tests (the authenticator is in webauthn-authenticator.ts).
import type { SoftAuthenticator, CreateOverrides, GetOverrides } from "./webauthn-authenticator.js";
import type { CallOptions, GqlResponse, TestServer } from "./server.js";

const CREDENTIAL_FIELDS = "id name usage createdAt lastUsedAt signCount backupEligible backedUp transports";

export const WAN = {
  REGISTER_OPTIONS: /* GraphQL */ `mutation($input: WanRegisterOptionsInput!) { wanRegisterOptions(input: $input) { options expiresAt } }`,
  REGISTER: /* GraphQL */ `mutation($credential: String!) { wanRegister(input: { credential: $credential }) { credential { ${CREDENTIAL_FIELDS} } } }`,
  SIGN_IN_OPTIONS: /* GraphQL */ `mutation($input: WanSignInOptionsInput) { wanSignInOptions(input: $input) { options expiresAt } }`,
  SIGN_IN: /* GraphQL */ `mutation($credential: String!, $delivery: SessionDelivery) {
    wanSignIn(input: { credential: $credential, delivery: $delivery }) {
      __typename
      ... on SignedIn { user { id email } session { id methods current } tokens { accessToken refreshToken } }
    }
  }`,
  VERIFY_OPTIONS: /* GraphQL */ `mutation { wanVerifyOptions { options expiresAt } }`,
  VERIFY: /* GraphQL */ `mutation($credential: String!) { wanVerify(input: { credential: $credential }) { verifiedAt } }`,
  LIST: /* GraphQL */ `query { wanCredentials { ${CREDENTIAL_FIELDS} } }`,
  RENAME: /* GraphQL */ `mutation($id: ID!, $name: String!) { wanRename(input: { id: $id, name: $name }) { ${CREDENTIAL_FIELDS} } }`,
  DELETE: /* GraphQL */ `mutation($id: ID!) { wanDelete(input: { id: $id }) }`,
};

export interface PasskeyInfo {
  id: string;
  name: string;
  usage: "FIRST" | "SECONDARY";
  createdAt: string;
  lastUsedAt: string | null;
  signCount: number;
  backupEligible: boolean;
  backedUp: boolean;
  transports: string[];
}

const must = <T>(r: GqlResponse, pick: (d: Record<string, unknown>) => T): T => {
  if (r.errors || !r.data) throw new Error(`unexpected errors: ${JSON.stringify(r.errors)}`);
  return pick(r.data as Record<string, unknown>);
};

export async function registerOptions(s: TestServer, token: string, name = "Laptop", usage: "FIRST" | "SECONDARY" = "FIRST"): Promise<string> {
  return must(await s.gql(WAN.REGISTER_OPTIONS, { input: { name, usage } }, { token }), (d) => (d.wanRegisterOptions as { options: string }).options);
}

/** Options, the authenticator's answer, and the registration; returns the new passkey. */
export async function registerPasskey(
  s: TestServer,
  token: string,
  auth: SoftAuthenticator,
  opts: { name?: string; usage?: "FIRST" | "SECONDARY"; overrides?: CreateOverrides } = {},
): Promise<PasskeyInfo> {
  const options = await registerOptions(s, token, opts.name ?? `Key ${Math.random().toString(36).slice(2, 8)}`, opts.usage ?? "FIRST");
  const r = await s.gql(WAN.REGISTER, { credential: auth.create(options, opts.overrides) }, { token });
  return must(r, (d) => (d.wanRegister as { credential: PasskeyInfo }).credential);
}

export async function signInOptions(s: TestServer, identity?: string): Promise<string> {
  const r = await s.gql(WAN.SIGN_IN_OPTIONS, identity === undefined ? {} : { input: { identity } });
  return must(r, (d) => (d.wanSignInOptions as { options: string }).options);
}

/** A full usernameless sign-in (or with a hint); returns the raw response. */
export async function passkeySignIn(s: TestServer, auth: SoftAuthenticator, opts: { identity?: string; delivery?: "COOKIE" | "TOKENS"; overrides?: GetOverrides } = {}): Promise<GqlResponse> {
  const options = await signInOptions(s, opts.identity);
  return s.gql(WAN.SIGN_IN, { credential: auth.get(options, opts.overrides), delivery: opts.delivery ?? "TOKENS" });
}

export async function verifyOptions(s: TestServer, call: CallOptions): Promise<string> {
  return must(await s.gql(WAN.VERIFY_OPTIONS, {}, call), (d) => (d.wanVerifyOptions as { options: string }).options);
}

export async function listPasskeys(s: TestServer, token: string): Promise<PasskeyInfo[]> {
  return must(await s.gql(WAN.LIST, {}, { token }), (d) => d.wanCredentials as PasskeyInfo[]);
}
