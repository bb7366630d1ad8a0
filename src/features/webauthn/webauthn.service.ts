// Passkeys (Flask-Security's WebAuthn) with @simplewebauthn/server: register (fresh session),
// sign in as a first factor (usernameless, or with an identity hint when config allows), verify
// for freshness with one of the caller's own passkeys, list, rename, delete (fresh session).
// Options go to the client and responses come back as JSON text (see schema/webauthn.graphql).
import { createHmac } from "node:crypto";
import { Types } from "mongoose";
import { generateAuthenticationOptions, generateRegistrationOptions } from "@simplewebauthn/server";
import type { Kernel } from "../../app.js";
import type { LeanUser } from "../../core/auth-state.js";
import { deriveKey } from "../../core/crypto.js";
import { isDuplicateKey } from "../../core/db-errors.js";
import { AppError, CORE, FIELD, InputCheck } from "../../core/errors.js";
import { identityLookup } from "../../core/identity.js";
import { reverifyBudget, MAX_IDENTITY_LENGTH, type SignInResult, type SignedInResult } from "../../core/sign-in.js";
import type { Viewer } from "../../core/viewer.js";
import type { WebAuthnCredentialData, WebAuthnPurpose, WebAuthnUsage } from "../../db/webauthn.models.js";
import type { RequestInfo } from "../auth/auth.service.js";
import { AUTH } from "../auth/auth.errors.js";
import type { TwoFactorService } from "../two-factor/two-factor.service.js";
import type { ConfirmationService } from "../confirmation/confirmation.service.js";
import { ALGORITHMS, Ceremony, CounterRegression, type Assertion } from "./webauthn.ceremony.js";
import { Challenges } from "./webauthn.challenges.js";
import { WEBAUTHN } from "./webauthn.errors.js";
import { TWO_FACTOR } from "../two-factor/two-factor.errors.js";
import { checkName, parseAuthentication, parseRegistration, relyingParty, type RelyingParty } from "./webauthn.input.js";

export interface CeremonyOptions {
  /** JSON text of PublicKeyCredentialCreationOptionsJSON or PublicKeyCredentialRequestOptionsJSON. */
  options: string;
  expiresAt: Date;
}

/** Length of a made-up credential id for an unknown identity hint (typical of platform passkeys). */
const FAKE_ID_BYTES = 32;

export class WebAuthnService {
  readonly rp: RelyingParty;
  private readonly ceremony: Ceremony;
  private readonly challenges: Challenges;
  private readonly handleKey: Buffer;

  constructor(
    private readonly k: Kernel,
    private readonly confirmation: ConfirmationService,
    private readonly twoFactor: TwoFactorService | null,
  ) {
    // A passkey registered for second-factor use is offered in sign-in flows (method PASSKEY).
    twoFactor?.addMethodSource(async (user) => ((await this.hasSecondFactor(user._id)) ? ["PASSKEY"] : []));
    this.rp = relyingParty(k.config); // a mismatched rpId / origins fails the start with a clear message
    this.ceremony = new Ceremony(this.rp);
    this.challenges = new Challenges(k);
    this.handleKey = deriveKey(k.config.secrets.tokenKey, "webauthn");
    k.userData.registerCredentials("passkeys", (userId) => this.purgeUser(userId));
  }

  private get cfg() {
    return this.k.config.webauthn;
  }

  private get clientRule() {
    return { limit: this.k.config.rateLimit.loginPerClient, windowSeconds: this.k.config.rateLimit.windowSeconds };
  }

  /** The WebAuthn user.id of a user: an HMAC of the user id (stable, opaque, no personal data). */
  private userHandle(userId: Types.ObjectId | string): Uint8Array<ArrayBuffer> {
    return new Uint8Array(createHmac("sha256", this.handleKey).update(`user-handle:${String(userId)}`).digest());
  }

  private fail(purpose: WebAuthnPurpose, reason: string, req: RequestInfo, userId: string | null = null, credentialId: string | null = null): void {
    this.k.events.emit("webauthn.failed", { purpose, reason, ip: req.client.ip, userId, credentialId: credentialId?.slice(0, 64) ?? null });
  }

  /** Runs a ceremony step; every expected failure is also an event. */
  private async guarded<T>(purpose: WebAuthnPurpose, req: RequestInfo, userId: string | null, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      if (err instanceof AppError) this.fail(purpose, err.spec.code, req, userId, (err.extensions.credentialId as string | undefined) ?? null);
      throw err;
    }
  }

  list(userId: Types.ObjectId | string): Promise<WebAuthnCredentialData[]> {
    return this.k.models.WebAuthnCredential.find({ userId }).sort({ createdAt: -1 }).limit(this.cfg.maxPerUser + 10).lean();
  }

  // ---- register ---------------------------------------------------------------------------

  async registerOptions(viewer: Viewer, input: { name: string; usage: WebAuthnUsage }, req: RequestInfo): Promise<CeremonyOptions> {
    const check = new InputCheck();
    const { name, nameKey } = checkName(check, "name", input.name);
    check.throwIfAny();
    const existing = await this.list(viewer.user._id);
    if (existing.some((c) => c.nameKey === nameKey)) throw nameInUse();
    if (existing.length >= this.cfg.maxPerUser) throw new AppError(WEBAUTHN.WEBAUTHN_TOO_MANY);
    const { bytes: challenge, expiresAt } = await this.challenges.issue("register", this.cfg.registerTimeoutSeconds, {
      userId: viewer.user._id,
      sessionId: viewer.session._id,
      name,
      usage: input.usage,
    });
    const first = input.usage === "first";
    const options = await generateRegistrationOptions({
      rpName: this.rp.name,
      rpID: this.rp.id,
      userName: viewer.user.email,
      userDisplayName: viewer.user.username ?? viewer.user.email,
      userID: this.userHandle(viewer.user._id),
      challenge,
      timeout: this.cfg.registerTimeoutSeconds * 1000,
      attestationType: "none",
      excludeCredentials: existing.map((c) => ({ id: c._id, transports: c.transports })),
      // First-factor passkeys must be discoverable (usernameless sign-in).
      authenticatorSelection: first ? { residentKey: "required", requireResidentKey: true, userVerification: "preferred" } : { residentKey: "discouraged", userVerification: "discouraged" },
      extensions: { credProps: true },
      supportedAlgorithmIDs: ALGORITHMS,
    });
    this.k.events.emit("webauthn.challengeIssued", { purpose: "register", userId: viewer.userId, ip: req.client.ip });
    return { options: JSON.stringify(options), expiresAt };
  }

  register(viewer: Viewer, input: { credential: string }, req: RequestInfo): Promise<WebAuthnCredentialData> {
    return this.guarded("register", req, viewer.userId, async () => {
      const parsed = parseRegistration("credential", input.credential);
      const ch = await this.challenges.spend(parsed.clientData.challenge, "register", { userId: viewer.userId, sessionId: String(viewer.session._id) });
      const usage: WebAuthnUsage = ch.usage === "secondary" ? "secondary" : "first";
      const reg = await this.ceremony.verifyRegistration(parsed, parsed.clientData.challenge, usage === "first");
      const { name, nameKey } = checkName(new InputCheck(), "name", ch.name ?? "");
      if ((await this.k.models.WebAuthnCredential.countDocuments({ userId: viewer.user._id })) >= this.cfg.maxPerUser) throw new AppError(WEBAUTHN.WEBAUTHN_TOO_MANY);
      const doc: WebAuthnCredentialData = {
        _id: reg.id,
        userId: viewer.user._id,
        name,
        nameKey,
        usage,
        publicKey: reg.publicKey,
        counter: reg.counter,
        transports: reg.transports,
        deviceType: reg.deviceType,
        backedUp: reg.backedUp,
        userHandle: Buffer.from(this.userHandle(viewer.user._id)).toString("base64url"),
        aaguid: reg.aaguid,
        createdAt: this.k.clock.now(),
        lastUsedAt: null,
      };
      try {
        await this.k.models.WebAuthnCredential.create(doc);
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
        // Which unique key clashed: the credential id (anyone's) or the name (this user's).
        if (await this.k.models.WebAuthnCredential.exists({ _id: reg.id })) throw new AppError(WEBAUTHN.WEBAUTHN_CREDENTIAL_ID_INUSE, { credentialId: reg.id });
        throw nameInUse();
      }
      // Authenticated before a deletion of the account may have begun: the passkey must not outlive it.
      if (await this.k.userData.isGone(viewer.user._id)) {
        await this.k.models.WebAuthnCredential.deleteOne({ _id: reg.id, userId: viewer.user._id });
        throw new AppError(CORE.UNAUTHENTICATED, { reason: "revoked" });
      }
      this.k.events.emit("webauthn.registered", { userId: viewer.userId, credentialId: reg.id, usage });
      return doc;
    });
  }

  // ---- sign in (first factor) ---------------------------------------------------------------

  /**
   * Options for a sign-in. Without an identity: usernameless (the browser offers the discoverable
   * passkeys it has for this rpId). With one (only when allowIdentityHints): that user's
   * first-factor passkeys; an unknown, inactive or passkey-less identity gets made-up ids of the
   * same shape, stable per identity, after the same two queries.
   */
  async signInOptions(input: { identity?: string | null }, req: RequestInfo): Promise<CeremonyOptions> {
    await this.k.limiter.consume({ key: `wan:options:ip:${req.client.ip}`, rule: this.clientRule });
    let allowCredentials: Array<{ id: string }> | undefined;
    const identity = input.identity ?? "";
    if (identity !== "") {
      const check = new InputCheck();
      if (!this.cfg.allowIdentityHints) check.add("identity", FIELD.NOT_ALLOWED, "Identity hints are not enabled: sign in without an identity.");
      else if (identity.length > MAX_IDENTITY_LENGTH) check.add("identity", FIELD.TOO_LONG);
      check.throwIfAny();
      allowCredentials = await this.hintedCredentials(identity);
    }
    return this.assertionOptions("signin", { userId: null, sessionId: null }, allowCredentials, req);
  }

  /** A challenge for an assertion and the options the browser needs (allowCredentials undefined: usernameless). */
  private async assertionOptions(
    purpose: "signin" | "second-factor" | "verify",
    bind: { userId: Types.ObjectId | null; sessionId: Types.ObjectId | null },
    allowCredentials: Array<{ id: string; transports?: string[] }> | undefined,
    req: RequestInfo,
  ): Promise<CeremonyOptions> {
    const { bytes: challenge, expiresAt } = await this.challenges.issue(purpose, this.cfg.signInTimeoutSeconds, bind);
    const options = await generateAuthenticationOptions({
      rpID: this.rp.id,
      challenge,
      timeout: this.cfg.signInTimeoutSeconds * 1000,
      userVerification: "preferred",
      ...(allowCredentials ? { allowCredentials } : {}),
    });
    this.k.events.emit("webauthn.challengeIssued", { purpose, userId: bind.userId ? String(bind.userId) : null, ip: req.client.ip });
    return { options: JSON.stringify(options), expiresAt };
  }

  private async ownCredentials(userId: Types.ObjectId, usage?: WebAuthnUsage): Promise<Array<{ id: string; transports: string[] }>> {
    return (await this.list(userId)).filter((c) => !usage || c.usage === usage).map((c) => ({ id: c._id, transports: c.transports }));
  }

  private async hintedCredentials(identity: string): Promise<Array<{ id: string }>> {
    const lookup = identityLookup(identity);
    const usernameOff = "usernameKey" in lookup && !this.k.config.registration.usernameEnabled;
    const user = usernameOff ? null : await this.k.models.User.findOne(lookup).select({ _id: 1, active: 1 }).lean();
    // The same second query for everyone (an unused id for unknown identities).
    const creds = await this.k.models.WebAuthnCredential.find({ userId: user?.active ? user._id : new Types.ObjectId(), usage: "first" }).select({ _id: 1 }).lean();
    if (creds.length) return creds.map((c) => ({ id: c._id })); // transports left out: they would tell real from made-up
    const fake = createHmac("sha256", this.handleKey).update(`fake-credential:${JSON.stringify(lookup)}`).digest().subarray(0, FAKE_ID_BYTES);
    return [{ id: Buffer.from(fake).toString("base64url") }];
  }

  signIn(input: { credential: string; delivery: "cookie" | "tokens" }, req: RequestInfo): Promise<SignInResult> {
    return this.guarded("signin", req, null, async () => {
      const parsed = parseAuthentication("credential", input.credential);
      await this.k.limiter.consume({ key: `login:ip:${req.client.ip}`, rule: this.clientRule });
      await this.challenges.spend(parsed.clientData.challenge, "signin");
      const { cred, assertion } = await this.assert(parsed, req, null);
      const user = await this.k.models.User.findById(cred.userId).lean();
      if (!user) throw new AppError(WEBAUTHN.WEBAUTHN_ORPHAN_CREDENTIAL_ID, { credentialId: cred._id });
      if (cred.usage !== "first") throw new AppError(WEBAUTHN.WEBAUTHN_CREDENTIAL_WRONG_USAGE, { credentialId: cred._id });
      if (!user.active) throw new AppError(AUTH.DISABLED_ACCOUNT);
      this.confirmation.assertMaySignIn(user);
      await this.recordUse(cred, assertion, "signin");
      return this.finishSignIn(user, assertion, input.delivery, req);
    });
  }

  /**
   * ─── PASSKEY AS A FACTOR: where the sign-in flow of the second-factor issue plugs in ───
   * A first-factor passkey goes through k.signIn.primary: the second-step gate decides whether a
   * second factor is owed. With webauthn.passkeySatisfiesBothFactors and a user-verifying
   * authenticator (UV flag: PIN or biometrics on the device), the passkey is two factors in one and
   * the session starts at once (amr hwk + mfa).
   * A passkey as the second factor of a flow: see secondFactorOptions / secondFactor below.
   */
  private finishSignIn(user: LeanUser, assertion: Assertion, delivery: "cookie" | "tokens", req: RequestInfo): Promise<SignInResult> {
    const request = { delivery, method: "hwk", ...req };
    if (this.cfg.passkeySatisfiesBothFactors && assertion.userVerified) return this.k.signIn.complete(user, { ...request, moreMethods: ["mfa"] });
    return this.k.signIn.primary(user, request);
  }

  /** For the second-step gate: does the user have a passkey registered for second-factor use? */
  async hasSecondFactor(userId: Types.ObjectId | string): Promise<boolean> {
    return (await this.k.models.WebAuthnCredential.exists({ userId, usage: "secondary" })) !== null;
  }

  // ---- second factor of a sign-in flow -----------------------------------------------------

  /**
   * Options for the flow's user: their own SECONDARY passkeys only (a FIRST passkey may have been
   * the flow's first factor: it cannot count twice); the challenge is bound to that user.
   */
  async secondFactorOptions(flowId: string, req: RequestInfo): Promise<CeremonyOptions> {
    const open = await this.k.flows.peek(flowId);
    if (!open.flow.methods.includes("PASSKEY")) throw new AppError(TWO_FACTOR.TWO_FACTOR_METHOD_NOT_AVAILABLE);
    return this.assertionOptions("second-factor", { userId: open.user._id, sessionId: null }, await this.ownCredentials(open.user._id, "secondary"), req);
  }

  /** Finishes the flow with an assertion by one of the flow user's passkeys; counts as a flow attempt. */
  secondFactor(input: { flowId: string; credential: string }, req: RequestInfo): Promise<SignedInResult> {
    return this.guarded("second-factor", req, null, async () => {
      const parsed = parseAuthentication("credential", input.credential);
      const peeked = await this.k.flows.peek(input.flowId);
      if (!peeked.flow.methods.includes("PASSKEY")) throw new AppError(TWO_FACTOR.TWO_FACTOR_METHOD_NOT_AVAILABLE);
      const open = await this.k.flows.attempt(input.flowId);
      const challenge = await this.challenges.spend(parsed.clientData.challenge, "second-factor");
      if (String(challenge.userId) !== String(open.user._id)) throw new AppError(WEBAUTHN.WEBAUTHN_EXPIRED);
      const { cred, assertion } = await this.assert(parsed, req, open.user._id);
      if (cred.usage !== "secondary") throw new AppError(WEBAUTHN.WEBAUTHN_CREDENTIAL_WRONG_USAGE, { credentialId: cred._id });
      await this.recordUse(cred, assertion, "signin");
      this.k.events.emit("twoFactor.codeConfirmed", { userId: String(open.user._id), method: "PASSKEY" });
      return this.k.flows.finish(open, "hwk", req);
    });
  }

  // ---- verify (freshness) -----------------------------------------------------------------

  async verifyOptions(viewer: Viewer, req: RequestInfo): Promise<CeremonyOptions> {
    const creds = await this.ownCredentials(viewer.user._id);
    if (!creds.length) throw new AppError(WEBAUTHN.WEBAUTHN_NO_VERIFY);
    return this.assertionOptions("verify", { userId: viewer.user._id, sessionId: viewer.session._id }, creds, req);
  }

  /** Marks the session fresh; only an assertion by one of the caller's own passkeys counts. */
  verify(viewer: Viewer, input: { credential: string }, req: RequestInfo): Promise<Date> {
    return this.guarded("verify", req, viewer.userId, async () => {
      const parsed = parseAuthentication("credential", input.credential); // no lookup: not an attempt yet
      await this.k.limiter.consume(reverifyBudget(viewer.userId, this.k.config.rateLimit));
      await this.challenges.spend(parsed.clientData.challenge, "verify", { userId: viewer.userId, sessionId: String(viewer.session._id) });
      const { cred, assertion } = await this.assert(parsed, req, viewer.user._id);
      await this.recordUse(cred, assertion, "verify");
      await this.k.limiter.reset(reverifyBudget(viewer.userId, this.k.config.rateLimit).key);
      const at = await this.k.sessions.markFresh(viewer.state, "hwk");
      this.k.events.emit("user.reauthenticated", { userId: viewer.userId, sessionId: String(viewer.session._id), method: "hwk" });
      return at;
    });
  }

  /**
   * The credential the assertion names (of `owner` when given: another user's passkey is as
   * unknown as a made-up one), verified against it; a counter regression is logged and refused.
   */
  private async assert(parsed: ReturnType<typeof parseAuthentication>, req: RequestInfo, owner: Types.ObjectId | null) {
    const id = parsed.response.id;
    this.ceremony.checkAssertionContext(parsed);
    const cred = await this.k.models.WebAuthnCredential.findOne(owner ? { _id: id, userId: owner } : { _id: id }).lean();
    if (!cred) {
      // With identity hints, wanSignInOptions hands out made-up ids for unknown identities: an
      // unknown id must then answer like a real one with a bad signature.
      if (!owner && this.cfg.allowIdentityHints) throw new AppError(WEBAUTHN.WEBAUTHN_VERIFICATION_FAILED);
      throw new AppError(WEBAUTHN.WEBAUTHN_UNKNOWN_CREDENTIAL_ID, { credentialId: id });
    }
    let assertion: Assertion;
    try {
      assertion = await this.ceremony.verifyAssertion(parsed, parsed.clientData.challenge, cred);
    } catch (err) {
      if (!(err instanceof CounterRegression)) throw err;
      this.k.events.emit("webauthn.counterRegression", { userId: String(cred.userId), credentialId: cred._id, storedCounter: err.stored, receivedCounter: err.received, ip: req.client.ip });
      throw new AppError(WEBAUTHN.WEBAUTHN_COUNTER_REGRESSION, { credentialId: cred._id });
    }
    const handle = parsed.response.response.userHandle;
    if (handle && handle !== cred.userHandle) throw new AppError(WEBAUTHN.WEBAUTHN_MISMATCH_USER_HANDLE, { credentialId: cred._id });
    return { cred, assertion };
  }

  private async recordUse(cred: WebAuthnCredentialData, a: Assertion, purpose: "signin" | "verify"): Promise<void> {
    // Conditional on the counter read: of two racing assertions only one moves it (as far as
    // FerretDB's non-atomic updates allow; the spent challenge is the real replay guard).
    await this.k.models.WebAuthnCredential.updateOne(
      { _id: cred._id, counter: cred.counter },
      { $set: { counter: a.newCounter, backedUp: a.backedUp, deviceType: a.deviceType, lastUsedAt: this.k.clock.now() } },
    );
    this.k.events.emit("webauthn.used", { userId: String(cred.userId), credentialId: cred._id, purpose, userVerified: a.userVerified });
  }

  // ---- manage -------------------------------------------------------------------------------

  async rename(viewer: Viewer, input: { id: string; name: string }): Promise<WebAuthnCredentialData> {
    const check = new InputCheck();
    const { name, nameKey } = checkName(check, "name", input.name);
    if (input.id.length > 1364) check.add("id", FIELD.TOO_LONG);
    check.throwIfAny();
    const cred = await this.k.models.WebAuthnCredential.findOne({ _id: input.id, userId: viewer.user._id }).lean();
    if (!cred) throw new AppError(WEBAUTHN.WEBAUTHN_UNKNOWN_CREDENTIAL_ID);
    if (cred.nameKey !== nameKey && (await this.k.models.WebAuthnCredential.exists({ userId: viewer.user._id, nameKey }))) throw nameInUse();
    try {
      await this.k.models.WebAuthnCredential.updateOne({ _id: cred._id, userId: viewer.user._id }, { $set: { name, nameKey } });
    } catch (err) {
      if (isDuplicateKey(err)) throw nameInUse();
      throw err;
    }
    this.k.events.emit("webauthn.renamed", { userId: viewer.userId, credentialId: cred._id });
    return { ...cred, name, nameKey };
  }

  async remove(viewer: Viewer, input: { id: string }): Promise<boolean> {
    if (input.id.length > 1364) new InputCheck().add("id", FIELD.TOO_LONG).throwIfAny();
    // With second factors required, the last one cannot go (as disableTwoFactor refuses).
    if (this.twoFactor && this.k.config.twoFactor.required) {
      const cred = await this.k.models.WebAuthnCredential.findOne({ _id: input.id, userId: viewer.user._id }).select({ usage: 1 }).lean();
      if (cred?.usage === "secondary") {
        const others = await this.k.models.WebAuthnCredential.countDocuments({ userId: viewer.user._id, usage: "secondary", _id: { $ne: input.id } });
        if (others === 0 && (await this.twoFactor.configuredMethods(viewer.user._id)).length === 0) throw new AppError(TWO_FACTOR.TWO_FACTOR_REQUIRED);
      }
    }
    const res = await this.k.models.WebAuthnCredential.deleteOne({ _id: input.id, userId: viewer.user._id });
    if (res.deletedCount !== 1) throw new AppError(WEBAUTHN.WEBAUTHN_UNKNOWN_CREDENTIAL_ID);
    this.k.events.emit("webauthn.deleted", { userId: viewer.userId, credentialId: input.id });
    return true;
  }

  /** Every passkey of a user and its challenges (an access reset; deletion purges them by userId). */
  async purgeUser(userId: Types.ObjectId | string): Promise<void> {
    await this.k.models.WebAuthnCredential.deleteMany({ userId });
    await this.k.models.WebAuthnChallenge.deleteMany({ userId });
  }

  sweep(): Promise<void> {
    return this.challenges.sweep();
  }
}

const nameInUse = () => new AppError(WEBAUTHN.WEBAUTHN_NAME_INUSE, { fieldErrors: [{ field: "name", ...WEBAUTHN.WEBAUTHN_NAME_INUSE }] });

