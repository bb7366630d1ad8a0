// The checks of one ceremony response, in an order that gives clear answers: type and origin of
// the client data, the relying-party ID hash of the authenticator data, then @simplewebauthn's full
// verification (challenge, origin and rpID again, flags, attestation or signature). Our own
// counter check replaces the library's so a regression is reported (and logged) as what it is.
import { createHash } from "node:crypto";
import { verifyAuthenticationResponse, verifyRegistrationResponse, type AuthenticationResponseJSON, type RegistrationResponseJSON } from "@simplewebauthn/server";
import { decodeAttestationObject } from "@simplewebauthn/server/helpers";
import { AppError } from "../../core/errors.js";
import type { WebAuthnCredentialData } from "../../db/webauthn.models.js";
import { WEBAUTHN } from "./webauthn.errors.js";
import type { Parsed, RelyingParty } from "./webauthn.input.js";

/** EdDSA, ES256, RS256: what browsers and authenticators offer (the library's default minus PQC). */
export const ALGORITHMS = [-8, -7, -257];

export interface RegisteredCredential {
  id: string;
  publicKey: string;
  counter: number;
  transports: string[];
  deviceType: string;
  backedUp: boolean;
  aaguid: string;
}

export interface Assertion {
  newCounter: number;
  userVerified: boolean;
  backedUp: boolean;
  deviceType: string;
}

export class CounterRegression extends Error {
  constructor(readonly stored: number, readonly received: number) {
    super("counter regression");
  }
}

export class Ceremony {
  private readonly rpIdHash: Buffer;
  constructor(private readonly rp: RelyingParty) {
    this.rpIdHash = createHash("sha256").update(rp.id).digest();
  }

  private checkClient(parsed: Parsed<unknown>, type: "webauthn.create" | "webauthn.get"): void {
    if (parsed.clientData.type !== type) throw new AppError(WEBAUTHN.WEBAUTHN_VERIFICATION_FAILED);
    if (!this.rp.origins.includes(parsed.clientData.origin)) {
      throw new AppError(WEBAUTHN.WEBAUTHN_ORIGIN_MISMATCH, { origin: parsed.clientData.origin.slice(0, 200), allowedOrigins: this.rp.origins });
    }
  }

  private checkRpIdHash(authData: Uint8Array | undefined): void {
    if (!authData || authData.length < 37) throw new AppError(WEBAUTHN.WEBAUTHN_MALFORMED_RESPONSE);
    if (!this.rpIdHash.equals(Buffer.from(authData.subarray(0, 32)))) throw new AppError(WEBAUTHN.WEBAUTHN_RPID_MISMATCH, { rpId: this.rp.id });
  }

  async verifyRegistration(parsed: Parsed<RegistrationResponseJSON>, challenge: string, requireResidentKey: boolean): Promise<RegisteredCredential> {
    this.checkClient(parsed, "webauthn.create");
    let authData: Uint8Array | undefined;
    try {
      authData = decodeAttestationObject(Buffer.from(parsed.response.response.attestationObject, "base64url")).get("authData");
    } catch {
      throw new AppError(WEBAUTHN.WEBAUTHN_MALFORMED_RESPONSE);
    }
    this.checkRpIdHash(authData);
    let result: Awaited<ReturnType<typeof verifyRegistrationResponse>>;
    try {
      result = await verifyRegistrationResponse({
        response: parsed.response,
        expectedChallenge: challenge,
        expectedOrigin: this.rp.origins,
        expectedRPID: this.rp.id,
        requireUserVerification: false,
        supportedAlgorithmIDs: ALGORITHMS,
      });
    } catch {
      throw new AppError(WEBAUTHN.WEBAUTHN_VERIFICATION_FAILED);
    }
    if (!result.verified) throw new AppError(WEBAUTHN.WEBAUTHN_VERIFICATION_FAILED);
    const info = result.registrationInfo;
    // A first-factor passkey must be discoverable (usernameless sign-in); browsers report it in credProps.
    const rk = (parsed.response.clientExtensionResults as { credProps?: { rk?: unknown } }).credProps?.rk;
    if (requireResidentKey && rk === false) throw new AppError(WEBAUTHN.WEBAUTHN_VERIFICATION_FAILED, { reason: "not discoverable" });
    return {
      id: info.credential.id,
      publicKey: Buffer.from(info.credential.publicKey).toString("base64url"),
      counter: info.credential.counter,
      transports: (parsed.response.response.transports ?? []).slice(0, 10),
      deviceType: info.credentialDeviceType,
      backedUp: info.credentialBackedUp,
      aaguid: info.aaguid,
    };
  }

  /**
   * Origin, ceremony type and rpId of an assertion: checked before its credential is looked up, so
   * that these answers say nothing about whether the credential exists.
   */
  checkAssertionContext(parsed: Parsed<AuthenticationResponseJSON>): void {
    this.checkClient(parsed, "webauthn.get");
    this.checkRpIdHash(Buffer.from(parsed.response.response.authenticatorData, "base64url"));
  }

  /**
   * The signature and counter (after checkAssertionContext). Throws CounterRegression (after the
   * signature verified) when the counter did not grow.
   */
  async verifyAssertion(parsed: Parsed<AuthenticationResponseJSON>, challenge: string, cred: WebAuthnCredentialData): Promise<Assertion> {
    let result: Awaited<ReturnType<typeof verifyAuthenticationResponse>>;
    try {
      result = await verifyAuthenticationResponse({
        response: parsed.response,
        expectedChallenge: challenge,
        expectedOrigin: this.rp.origins,
        expectedRPID: this.rp.id,
        // Counter 0 turns the library's own check off; ours below runs only on a valid signature.
        credential: { id: cred._id, publicKey: Buffer.from(cred.publicKey, "base64url"), counter: 0, transports: cred.transports },
        requireUserVerification: false,
      });
    } catch {
      throw new AppError(WEBAUTHN.WEBAUTHN_VERIFICATION_FAILED);
    }
    if (!result.verified) throw new AppError(WEBAUTHN.WEBAUTHN_VERIFICATION_FAILED);
    const info = result.authenticationInfo;
    if ((info.newCounter > 0 || cred.counter > 0) && info.newCounter <= cred.counter) throw new CounterRegression(cred.counter, info.newCounter);
    return { newCounter: info.newCounter, userVerified: info.userVerified, backedUp: info.credentialBackedUp, deviceType: info.credentialDeviceType };
  }
}
