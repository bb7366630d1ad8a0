// Second factors (Flask-Security's two-factor and recovery codes) and the second step of every
// sign-in. This service is the sign-in gate (src/core/sign-in.ts): after any primary method it asks
// for a second factor when the user has one (or must have one), through a persisted flow
// (src/core/sign-in-flows.ts). Unlike Flask-Security: every code is accepted once (authenticator
// codes once per time step, by a claim), attempts are capped per flow and per user, secrets are
// sealed with a rotatable key, recovery codes are keyed hashes, and a lost factor is rescued by a
// code to the confirmed address rather than by a bare notice.
import { randomInt } from "node:crypto";
import QRCode from "qrcode";
import type { Types } from "mongoose";
import type { Kernel } from "../../app.js";
import type { LeanUser } from "../../core/auth-state.js";
import { addSeconds } from "../../core/clock.js";
import { deriveKey, hmac, safeEqual } from "../../core/crypto.js";
import { isDuplicateKey } from "../../core/db-errors.js";
import { AppError, FIELD, InputCheck } from "../../core/errors.js";
import { maskPhone, PHONE, toE164 } from "../../core/phone.js";
import { maskEmail } from "../../core/identity.js";
import { FLOW, type OpenFlow } from "../../core/sign-in-flows.js";
import type { SecondFactorRequiredResult, SecondStepGate, SignedInResult, SignInRequest } from "../../core/sign-in.js";
import type { ClientInfo } from "../../core/sessions.js";
import type { Viewer } from "../../core/viewer.js";
import type { PendingSetup, SecondFactorData } from "../../db/second-factor.model.js";
import type { RequestInfo } from "../auth/auth.service.js";
import { TWO_FACTOR } from "./two-factor.errors.js";
import { twoFactorChangedMail, twoFactorCodeMail, twoFactorHelpMail, twoFactorHelpNoticeMail } from "./two-factor.templates.js";

export type TwoFactorMethod = "AUTHENTICATOR" | "EMAIL" | "SMS";
export type SecondFactorMethod = TwoFactorMethod | "RECOVERY_CODE" | "RESCUE_EMAIL" | "PASSKEY";

/** Session amr value recorded for each way of passing the second step. */
const AMR: Record<SecondFactorMethod, string> = {
  AUTHENTICATOR: "otp",
  EMAIL: "email",
  SMS: "sms",
  RECOVERY_CODE: "recovery",
  RESCUE_EMAIL: "rescue",
  PASSKEY: "hwk",
};

export interface TwoFactorStatus {
  enabled: boolean;
  methods: TwoFactorMethod[];
  phone: string | null;
  recoveryCodesLeft: number;
  required: boolean;
}

export interface TwoFactorSetupResult {
  method: TwoFactorMethod;
  secret: string | null;
  otpauthUri: string | null;
  qrCode: string | null;
  sentTo: string | null;
  expiresAt: Date;
}

/** Extra second factors owned by other features (passkeys registered for second-factor use). */
export type MethodSource = (user: LeanUser) => Promise<SecondFactorMethod[]>;

const RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789";
const RECOVERY_LENGTH = 12;
const MAX_CODE_INPUT = 64;
const MAX_PHONE_INPUT = 40;
const REMEMBER_PREFIX = "rd1";
/** Primary sign-in methods (session amr) that prove the mailbox: a magic link, a mailed code. */
const MAILBOX_METHODS: ReadonlySet<string> = new Set(["mail", "email"]);

export class TwoFactorService implements SecondStepGate {
  private readonly sources: MethodSource[] = [];
  private readonly recoveryKey: string;
  private readonly rememberKey: string;

  constructor(private readonly k: Kernel) {
    this.recoveryKey = deriveKey(k.config.secrets.tokenKey, "recovery-code").toString("base64url");
    this.rememberKey = deriveKey(k.config.secrets.tokenKey, "remember-device").toString("base64url");
    if (k.config.twoFactor.enabled) k.signIn.setGate(this);
    // Account deletion removes the document with every model keyed by the user's id (user-data.ts).
    k.userData.registerCredentials("second-factors", async (userId) => {
      await k.models.SecondFactor.deleteOne({ _id: userId });
    });
  }

  private get cfg() {
    return this.k.config.twoFactor;
  }

  private get rememberCookie(): string {
    return `${this.k.config.sessions.cookieName}-rd`;
  }

  /** For features that own other second factors (passkeys). */
  addMethodSource(source: MethodSource): void {
    this.sources.push(source);
  }

  /** The user's second-factor document (defaults filled), or null. */
  async load(userId: Types.ObjectId): Promise<SecondFactorData | null> {
    const doc = await this.k.models.SecondFactor.findById(userId).lean();
    return doc && { ...doc, lastTotpStep: doc.lastTotpStep ?? 0, recoveryCodes: doc.recoveryCodes ?? [] };
  }

  private configured(doc: SecondFactorData | null): TwoFactorMethod[] {
    const out: TwoFactorMethod[] = [];
    if (doc?.authenticator) out.push("AUTHENTICATOR");
    if (doc?.email) out.push("EMAIL");
    if (doc?.sms) out.push("SMS");
    return out;
  }

  /** The methods (authenticator, email, SMS) the user has set up; passkeys are counted by their feature. */
  async configuredMethods(userId: Types.ObjectId): Promise<TwoFactorMethod[]> {
    return this.configured(await this.load(userId));
  }

  // ---- the gate -------------------------------------------------------------------------------

  async check(user: LeanUser, req: SignInRequest): Promise<SecondFactorRequiredResult | null> {
    const doc = await this.load(user._id);
    const factors: SecondFactorMethod[] = [...this.configured(doc)];
    for (const source of this.sources) factors.push(...(await source(user)));
    // A first step that came through the mailbox (magic link, mailed code) cannot be followed by a
    // second one through the same mailbox: that would be one factor twice.
    const mailboxFirst = MAILBOX_METHODS.has(req.method);
    if (factors.length === 0) {
      if (!this.cfg.required) return null;
      return this.k.flows.start(user, req, { methods: this.allowedSetupMethods(mailboxFirst), setupRequired: true });
    }
    if (this.remembered(user, req.rememberDeviceToken ?? req.cookies.get(this.rememberCookie))) return null;
    const methods = factors.filter((m) => !(mailboxFirst && m === "EMAIL"));
    if (doc?.recoveryCodes.length) methods.push("RECOVERY_CODE");
    if (this.cfg.rescueByEmail && user.confirmedAt && !mailboxFirst) methods.push("RESCUE_EMAIL");
    if (methods.length === 0) throw new AppError(TWO_FACTOR.TWO_FACTOR_SAME_CHANNEL);
    return this.k.flows.start(user, req, { methods, setupRequired: false });
  }

  private allowedSetupMethods(mailboxFirst = false): TwoFactorMethod[] {
    return (["AUTHENTICATOR", "EMAIL", "SMS"] as const).filter((m) => this.cfg.methods.includes(m) && !(mailboxFirst && m === "EMAIL"));
  }

  // ---- status and setup (signed in) -----------------------------------------------------------

  async status(viewer: Viewer): Promise<TwoFactorStatus> {
    const doc = await this.load(viewer.user._id);
    const methods = this.configured(doc);
    return {
      enabled: methods.length > 0,
      methods,
      phone: doc?.sms ? maskPhone(doc.sms.phone) : null,
      recoveryCodesLeft: doc?.recoveryCodes.length ?? 0,
      required: this.cfg.required,
    };
  }

  setup(viewer: Viewer, input: { method: TwoFactorMethod; phone?: string | null }): Promise<TwoFactorSetupResult> {
    return this.startSetup(viewer.user, input, `session:${String(viewer.session._id)}`);
  }

  async setupInFlow(input: { flowId: string; method: TwoFactorMethod; phone?: string | null }): Promise<TwoFactorSetupResult> {
    const open = await this.k.flows.peek(input.flowId);
    // The flow's methods are what may be set up in it (not EMAIL after a mailbox sign-in); and a
    // factor enrolled since the flow began is not replaced by someone holding only the password.
    if (!open.flow.setupRequired || !open.flow.methods.includes(input.method)) throw new AppError(TWO_FACTOR.TWO_FACTOR_METHOD_NOT_AVAILABLE);
    if (this.configured(await this.load(open.user._id)).length > 0) throw new AppError(FLOW.SIGN_IN_FLOW_INVALID);
    return this.startSetup(open.user, input, `flow:${open.flow._id}`);
  }

  private async startSetup(user: LeanUser, input: { method: TwoFactorMethod; phone?: string | null }, context: string): Promise<TwoFactorSetupResult> {
    if (!this.allowedSetupMethods().includes(input.method)) throw new AppError(TWO_FACTOR.TWO_FACTOR_METHOD_NOT_AVAILABLE);
    let phone: string | null = null;
    if (input.method === "SMS") {
      const check = new InputCheck();
      const raw = input.phone ?? "";
      if (raw.length === 0) check.add("phone", FIELD.REQUIRED);
      else if (raw.length > MAX_PHONE_INPUT) check.add("phone", FIELD.TOO_LONG);
      else if (!(phone = toE164(raw))) check.add("phone", PHONE.PHONE_INVALID);
      check.throwIfAny();
    } else if (input.phone != null) {
      new InputCheck().add("phone", FIELD.NOT_ALLOWED).throwIfAny();
    }
    const expiresAt = addSeconds(this.k.clock.now(), this.cfg.setupTtlSeconds);
    const userId = String(user._id);
    const pending: PendingSetup = { method: input.method, context, expiresAt, phone, secretSealed: null };
    let secret: string | null = null;
    let sentTo: string | null = null;
    if (input.method === "AUTHENTICATOR") {
      secret = this.k.totp.newSecret();
      pending.secretSealed = this.k.sealer.seal(secret, userId);
    } else {
      await this.spendSend(user);
    }
    try {
      await this.k.models.SecondFactor.updateOne({ _id: user._id }, { $set: { pending }, $setOnInsert: { lastTotpStep: 0, recoveryCodes: [] } }, { upsert: true, setDefaultsOnInsert: false });
    } catch (err) {
      // Two first setups at once: FerretDB refuses the second insert instead of updating; it exists now.
      if (!isDuplicateKey(err)) throw err;
      await this.k.models.SecondFactor.updateOne({ _id: user._id }, { $set: { pending } });
    }
    if (await this.k.userData.isGone(user._id)) {
      await this.k.models.SecondFactor.deleteOne({ _id: user._id });
      throw new AppError(TWO_FACTOR.TWO_FACTOR_NO_PENDING_SETUP);
    }
    if (input.method !== "AUTHENTICATOR") sentTo = await this.sendCode(user, input.method, `setup-${input.method}`, context, "to confirm this second factor", phone);
    if (secret) {
      const otpauthUri = this.k.totp.uri(secret, this.cfg.issuer ?? this.k.config.productName, user.email);
      const svg = await QRCode.toString(otpauthUri, { type: "svg", errorCorrectionLevel: "M", margin: 2 });
      return { method: input.method, secret, otpauthUri, qrCode: `data:image/svg+xml;base64,${Buffer.from(svg).toString("base64")}`, sentTo, expiresAt };
    }
    return { method: input.method, secret: null, otpauthUri: null, qrCode: null, sentTo, expiresAt };
  }

  async confirmSetup(viewer: Viewer, code: string): Promise<TwoFactorStatus> {
    this.checkCodeSize(code);
    await this.k.limiter.consume(...this.k.flows.userBudget(viewer.userId));
    await this.provePending(viewer.user, `session:${String(viewer.session._id)}`, null, code);
    return this.status(viewer);
  }

  /**
   * Checks `code` against the user's pending setup made in `context` and saves the method.
   * `method`, when given, must be the pending one (sign-in flows name it).
   */
  private async provePending(user: LeanUser, context: string, method: SecondFactorMethod | null, code: string): Promise<TwoFactorMethod> {
    const doc = await this.load(user._id);
    const p = doc?.pending;
    if (!p || p.context !== context || p.expiresAt.getTime() <= this.k.clock.now().getTime() || (method && method !== p.method)) {
      throw new AppError(TWO_FACTOR.TWO_FACTOR_NO_PENDING_SETUP);
    }
    const now = this.k.clock.now();
    const set: Record<string, unknown> = { pending: null };
    if (p.method === "AUTHENTICATOR") {
      const secret = this.k.sealer.open(p.secretSealed ?? "", String(user._id)).plaintext;
      const step = await this.k.totp.match(secret, code);
      if (step === null || !(await this.k.claims.once(`totp:${String(user._id)}:${step}`, 600))) throw new AppError(TWO_FACTOR.INVALID_CODE);
      Object.assign(set, { authenticator: { secretSealed: p.secretSealed, createdAt: now }, lastTotpStep: step });
    } else {
      if (!(await this.k.codes.verify(user._id, `setup-${p.method}`, context, code))) throw new AppError(TWO_FACTOR.INVALID_CODE);
      if (p.method === "EMAIL") set.email = { createdAt: now };
      else set.sms = { phone: p.phone, createdAt: now };
    }
    await this.k.models.SecondFactor.updateOne({ _id: user._id }, { $set: set });
    this.k.events.emit("twoFactor.enabled", { userId: String(user._id), method: p.method });
    this.k.mailer.sendLater(twoFactorChangedMail, user, { what: `${p.method.toLowerCase()} was set up as a second factor` });
    return p.method as TwoFactorMethod;
  }

  async disable(viewer: Viewer, method: TwoFactorMethod | null): Promise<TwoFactorStatus> {
    const doc = await this.load(viewer.user._id);
    const left = this.configured(doc).filter((m) => method !== null && m !== method);
    if (this.cfg.required && left.length === 0) throw new AppError(TWO_FACTOR.TWO_FACTOR_REQUIRED);
    if (method === null) {
      await this.k.models.SecondFactor.deleteOne({ _id: viewer.user._id });
    } else {
      const field = { AUTHENTICATOR: "authenticator", EMAIL: "email", SMS: "sms" }[method];
      // The recovery codes go with the last method: they are a backup of a second factor.
      await this.k.models.SecondFactor.updateOne({ _id: viewer.user._id }, { $set: { [field]: null, ...(left.length ? {} : { recoveryCodes: [], recoveryCodesCreatedAt: null }) } });
    }
    this.k.events.emit("twoFactor.disabled", { userId: viewer.userId, method: method ?? "ALL" });
    this.k.mailer.sendLater(twoFactorChangedMail, viewer.user, { what: method ? `${method.toLowerCase()} was removed` : "every second factor was removed" });
    return this.status(viewer);
  }

  async generateRecoveryCodes(viewer: Viewer): Promise<{ codes: string[]; createdAt: Date }> {
    const doc = await this.load(viewer.user._id);
    if (this.configured(doc).length === 0) throw new AppError(TWO_FACTOR.TWO_FACTOR_NOT_ENABLED);
    const codes = Array.from({ length: this.cfg.recoveryCodeCount }, () => {
      const raw = Array.from({ length: RECOVERY_LENGTH }, () => RECOVERY_ALPHABET[randomInt(RECOVERY_ALPHABET.length)]).join("");
      return `${raw.slice(0, 4)}-${raw.slice(4, 8)}-${raw.slice(8)}`;
    });
    const createdAt = this.k.clock.now();
    await this.k.models.SecondFactor.updateOne(
      { _id: viewer.user._id },
      { $set: { recoveryCodes: codes.map((c) => this.recoveryHash(viewer.user._id, c)), recoveryCodesCreatedAt: createdAt } },
    );
    this.k.events.emit("recoveryCodes.generated", { userId: viewer.userId });
    this.k.mailer.sendLater(twoFactorChangedMail, viewer.user, { what: "a new set of recovery codes was made (the old ones no longer work)" });
    return { codes, createdAt };
  }

  private recoveryHash(userId: Types.ObjectId, code: string): string {
    return hmac(this.recoveryKey, `${String(userId)}|${code.toLowerCase().replace(/[\s-]/g, "")}`);
  }

  // ---- the second step of a sign-in -----------------------------------------------------------

  async sendFlowCode(input: { flowId: string; method: SecondFactorMethod }): Promise<{ sentTo: string; expiresAt: Date }> {
    const open = await this.k.flows.peek(input.flowId);
    const { method } = input;
    if (open.flow.setupRequired || !open.flow.methods.includes(method) || !["EMAIL", "SMS", "RESCUE_EMAIL"].includes(method)) {
      throw new AppError(TWO_FACTOR.TWO_FACTOR_METHOD_NOT_AVAILABLE);
    }
    const doc = await this.load(open.user._id);
    const phone = method === "SMS" ? (doc?.sms?.phone ?? null) : null;
    if (method === "SMS" && !phone) throw new AppError(TWO_FACTOR.TWO_FACTOR_METHOD_NOT_AVAILABLE);
    await this.spendSend(open.user);
    const why = method === "RESCUE_EMAIL" ? "to sign in without your usual second factor" : "to finish signing in";
    const sentTo = await this.sendCode(open.user, method === "SMS" ? "SMS" : "EMAIL", `2fa-${method}`, `flow:${open.flow._id}`, why, phone);
    if (method === "RESCUE_EMAIL") this.k.events.emit("twoFactor.rescueRequested", { userId: String(open.user._id) });
    return { sentTo, expiresAt: addSeconds(this.k.clock.now(), this.cfg.codeTtlSeconds) };
  }

  /**
   * Asks the administrators (twoFactor.helpAddress) for help with a lost second factor, once per
   * flow; the owner's address gets a notice. The help mail is sent before answering, so a refusing
   * SMTP server is MAIL_DELIVERY_FAILED and the flow may ask again.
   */
  async requestHelp(flowId: string, client: ClientInfo): Promise<{ accepted: true; message: string }> {
    const answer = { accepted: true as const, message: "The administrators were asked for help; they will contact you at your account's address." };
    const open = await this.k.flows.peek(flowId);
    const to = this.cfg.helpAddress;
    if (!to || open.flow.setupRequired) throw new AppError(TWO_FACTOR.TWO_FACTOR_METHOD_NOT_AVAILABLE);
    const claim = `2fa-help:${open.flow._id}`;
    if (!(await this.k.claims.once(claim, this.cfg.flowTtlSeconds + 60))) return answer;
    try {
      await this.spendSend(open.user);
      const userId = String(open.user._id);
      const requestedAt = this.k.clock.now().toISOString().replace(/\.\d+Z$/, "Z");
      await this.k.mailer.sendTemplate(twoFactorHelpMail, to, { userId, email: open.user.email, requestedAt, ip: client.ip });
    } catch (err) {
      await this.k.claims.release(claim);
      throw err;
    }
    this.k.mailer.sendLater(twoFactorHelpNoticeMail, open.user, {});
    this.k.events.emit("twoFactor.helpRequested", { userId: String(open.user._id), ip: client.ip });
    return answer;
  }

  async verifyFlow(input: { flowId: string; method: SecondFactorMethod; code: string; rememberDevice: boolean }, req: RequestInfo): Promise<SignedInResult> {
    this.checkCodeSize(input.code);
    const peeked = await this.k.flows.peek(input.flowId);
    if (!peeked.flow.setupRequired && !peeked.flow.methods.includes(input.method)) throw new AppError(TWO_FACTOR.TWO_FACTOR_METHOD_NOT_AVAILABLE);
    const open = await this.k.flows.attempt(input.flowId);
    const userId = String(open.user._id);
    let ok = false;
    if (open.flow.setupRequired) {
      if (this.configured(await this.load(open.user._id)).length > 0) throw new AppError(FLOW.SIGN_IN_FLOW_INVALID);
      await this.provePending(open.user, `flow:${open.flow._id}`, input.method, input.code);
      ok = true;
    } else if (open.flow.methods.includes(input.method)) {
      ok = await this.checkFlowCode(open, input.method, input.code);
    }
    if (!ok) {
      this.k.events.emit("twoFactor.failed", { userId, method: input.method });
      throw new AppError(TWO_FACTOR.INVALID_CODE);
    }
    this.k.events.emit("twoFactor.codeConfirmed", { userId, method: input.method });
    const result = await this.k.flows.finish(open, AMR[input.method], req);
    if (input.rememberDevice && this.cfg.rememberDeviceDays > 0) {
      const token = this.rememberToken(open.user);
      if (result.tokens) result.rememberDeviceToken = token;
      else req.cookies.set(this.rememberCookie, token, this.cfg.rememberDeviceDays * 86_400);
    }
    return result;
  }

  private async checkFlowCode(open: OpenFlow, method: SecondFactorMethod, code: string): Promise<boolean> {
    const { user, flow } = open;
    switch (method) {
      case "AUTHENTICATOR":
        return this.checkTotp(user, code);
      case "EMAIL":
      case "SMS":
      case "RESCUE_EMAIL":
        return this.k.codes.verify(user._id, `2fa-${method}`, `flow:${flow._id}`, code);
      case "RECOVERY_CODE":
        return this.useRecoveryCode(user, code);
      case "PASSKEY":
        return false; // a passkey finishes a flow through the passkey feature, not with a code
    }
  }

  /** Each time step once per user, and never one older than the newest accepted. */
  async checkTotp(user: LeanUser, code: string): Promise<boolean> {
    const doc = await this.load(user._id);
    if (!doc?.authenticator) return false;
    const userId = String(user._id);
    const opened = this.k.sealer.open(doc.authenticator.secretSealed, userId);
    const step = await this.k.totp.match(opened.plaintext, code);
    if (step === null || step <= doc.lastTotpStep) return false;
    if (!(await this.k.claims.once(`totp:${userId}:${step}`, 600))) return false;
    const set: Record<string, unknown> = { lastTotpStep: step };
    if (opened.stale) set["authenticator.secretSealed"] = this.k.sealer.seal(opened.plaintext, userId);
    await this.k.models.SecondFactor.updateOne({ _id: user._id, lastTotpStep: { $lt: step } }, { $set: set });
    return true;
  }

  private async useRecoveryCode(user: LeanUser, code: string): Promise<boolean> {
    const doc = await this.load(user._id);
    const hash = this.recoveryHash(user._id, code);
    if (!doc?.recoveryCodes.some((h) => safeEqual(h, hash))) return false;
    if (!(await this.k.claims.once(`recovery-code:${String(user._id)}:${hash}`, 400 * 86_400))) return false;
    await this.k.models.SecondFactor.updateOne({ _id: user._id }, { $pull: { recoveryCodes: hash } });
    this.k.events.emit("recoveryCode.used", { userId: String(user._id), left: doc.recoveryCodes.length - 1 });
    this.k.mailer.sendLater(twoFactorChangedMail, user, { what: `a recovery code was used to sign in (${doc.recoveryCodes.length - 1} left)` });
    return true;
  }

  // ---- remember device ------------------------------------------------------------------------

  private rememberToken(user: LeanUser): string {
    const exp = Math.floor(this.k.clock.now().getTime() / 1000) + this.cfg.rememberDeviceDays * 86_400;
    return `${REMEMBER_PREFIX}.${String(user._id)}.${exp}.${hmac(this.rememberKey, `${String(user._id)}|${user.uniquifier}|${exp}`)}`;
  }

  /** Bound to the user and their uniquifier (a password change or reset forgets every device). */
  private remembered(user: LeanUser, token: string | null | undefined): boolean {
    if (this.cfg.rememberDeviceDays === 0 || typeof token !== "string" || token.length > 200) return false;
    const [prefix, id, exp, mac] = token.split(".");
    if (prefix !== REMEMBER_PREFIX || id !== String(user._id) || !exp || !mac || !/^[0-9]{1,12}$/.test(exp)) return false;
    if (Number(exp) * 1000 <= this.k.clock.now().getTime()) return false;
    return safeEqual(mac, hmac(this.rememberKey, `${id}|${user.uniquifier}|${exp}`));
  }

  // ---- sending --------------------------------------------------------------------------------

  private async spendSend(user: LeanUser): Promise<void> {
    await this.k.limiter.consume({ key: `2fa-send:user:${String(user._id)}`, rule: { limit: this.cfg.sendPerUser, windowSeconds: this.k.config.rateLimit.windowSeconds } });
  }

  /**
   * Issues a code and sends it now (the caller already knows the account exists, so a delivery
   * failure is reported: MAIL_DELIVERY_FAILED or SMS_DELIVERY_FAILED). Returns where it went, masked.
   */
  private async sendCode(user: LeanUser, channel: "EMAIL" | "SMS", purpose: string, context: string, why: string, phone: string | null): Promise<string> {
    const code = await this.k.codes.issue(user._id, purpose, context, this.cfg.codeTtlSeconds);
    const ttlMinutes = Math.max(1, Math.round(this.cfg.codeTtlSeconds / 60));
    if (channel === "SMS") {
      await this.k.sms.send({ to: phone!, body: `${this.k.config.productName}: ${code} is your code ${why}. It expires in ${ttlMinutes} min.`, purpose });
      return maskPhone(phone!);
    }
    await this.k.mailer.sendTemplate(twoFactorCodeMail, user.email, { code, ttlMinutes, why });
    return maskEmail(user.email);
  }

  private checkCodeSize(code: string): void {
    const check = new InputCheck();
    if (code.length === 0) check.add("code", FIELD.REQUIRED);
    else if (code.length > MAX_CODE_INPUT) check.add("code", FIELD.TOO_LONG);
    check.throwIfAny();
  }
}
