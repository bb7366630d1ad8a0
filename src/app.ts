// Composition root: builds the kernel and every feature service from one config and one
// database connection. Tests build several apps (one database each) in one process.
import type { Connection } from "mongoose";
import type { Config } from "./config/index.js";
import type { Logger } from "./core/logger.js";
import { systemClock, type Clock } from "./core/clock.js";
import { createModels, ensureIndexes, type Models } from "./db/models.js";
import { EventBus } from "./core/events.js";
import { PasswordHasher } from "./core/passwords.js";
import { KeyRing } from "./core/keys.js";
import { AccessTokens, RefreshTokens } from "./core/tokens.js";
import { AuthStateStore, RoleDirectory } from "./core/auth-state.js";
import { Claims } from "./core/claims.js";
import { SessionService } from "./core/sessions.js";
import { UserService } from "./core/users.js";
import { SignInService } from "./core/sign-in.js";
import { DatabaseLimiterStore, RateLimiter, RedisLimiterStore } from "./core/rate-limit.js";
import { deriveKey } from "./core/crypto.js";
import { createMailer } from "./core/mail/index.js";
import { LinkTokens } from "./core/links.js";
import { UserDataRegistry, registerKernelUserData } from "./core/user-data.js";
import { SignInFlows } from "./core/sign-in-flows.js";
import { OneTimeCodes } from "./core/codes.js";
import { createSmsSender } from "./core/sms/index.js";
import { Totp } from "./core/totp.js";
import { Sealer } from "./core/crypto.js";
import { AuthService } from "./features/auth/auth.service.js";
import { RegistrationService } from "./features/registration/registration.service.js";
import { RoleService } from "./features/roles/roles.service.js";
import { AccountService } from "./features/accounts/accounts.service.js";
import { ChangePasswordService } from "./features/change-password/change-password.service.js";
import { ConfirmationService } from "./features/confirmation/confirmation.service.js";
import { ChangeEmailService } from "./features/change-email/change-email.service.js";
import { ChangeUsernameService } from "./features/change-username/change-username.service.js";
import { RecoveryService } from "./features/recovery/recovery.service.js";
import { ProfileService } from "./features/profile/profile.service.js";
import { DeleteAccountService } from "./features/delete-account/delete-account.service.js";
import { WebAuthnService } from "./features/webauthn/webauthn.service.js";
import { MagicLinkService } from "./features/magic-link/magic-link.service.js";
import { TwoFactorService } from "./features/two-factor/two-factor.service.js";
import { UnifiedSignInService } from "./features/unified-sign-in/unified-sign-in.service.js";

export function createKernel(config: Config, conn: Connection, log: Logger, clock: Clock) {
  const models = createModels(conn);
  const events = new EventBus(log);
  const passwords = new PasswordHasher(config.passwords, config.secrets.pepper);
  const keys = new KeyRing(
    models.SigningKey,
    config.secrets.encryptionKey,
    { retainSeconds: config.tokens.accessTokenTtlSeconds + config.tokens.keyRefreshSeconds + 60, activationDelaySeconds: config.tokens.keyActivationDelaySeconds },
    clock,
    config.secrets.previousEncryptionKeys,
  );
  const access = new AccessTokens(keys, {
    issuer: config.tokens.issuer ?? config.publicUrl,
    audience: config.tokens.audience,
    accessTokenTtlSeconds: config.tokens.accessTokenTtlSeconds,
    verifiedCacheSize: config.tokens.verifiedCacheSize,
  });
  const refresh = new RefreshTokens(deriveKey(config.secrets.tokenKey, "refresh-token").toString("base64url"));
  const roles = new RoleDirectory(models.Role, config.sessions.stateCacheTtlMs);
  const authState = new AuthStateStore(models, roles, { ...config.sessions, ttlMs: config.sessions.stateCacheTtlMs, pollMs: config.sessions.revocationPollMs }, clock, log);
  const claims = new Claims(models.Claim, clock);
  const sessions = new SessionService(models.Session, access, refresh, authState, claims, events, clock, config.sessions);
  const users = new UserService(models.User, models.Identifier, passwords, sessions, claims, { ...config.identity, usernameEnabled: config.registration.usernameEnabled });
  const signIn = new SignInService(models.LoginTracking, sessions, events, clock, config.sessions.absoluteTtlSeconds);
  const limiter = new RateLimiter(config.rateLimit.redisUrl ? new RedisLimiterStore(config.rateLimit.redisUrl, config.rateLimit.redisKeyPrefix) : new DatabaseLimiterStore(models.RateHit, clock));

  const mailer = createMailer({ ...config.mail, dataDir: config.dataDir, productName: config.productName, publicUrl: config.publicUrl }, log);

  const links = new LinkTokens(models.LinkToken, models.User, claims, clock, config.publicUrl);
  // What each user owns, for account deletion; features register their own data in their services.
  const userData = new UserDataRegistry({ User: models.User, Claim: models.Claim, users, claims, authState, log });
  registerKernelUserData(userData, models, limiter);
  const flows = new SignInFlows(models.SignInFlow, models.User, claims, limiter, signIn, clock, { ...config.twoFactor, windowSeconds: config.rateLimit.windowSeconds });
  const sms = createSmsSender({ ...config.sms, dataDir: config.dataDir }, log);
  const totp = new Totp(clock, config.twoFactor.codeLength, config.twoFactor.totpWindowSteps);
  /** Second-factor secrets at rest; earlier keys still open values until they are re-sealed. */
  const sealer = new Sealer(config.secrets.encryptionKey, config.secrets.previousEncryptionKeys, "second-factor-secret");
  const codes = new OneTimeCodes(models.OneTimeCode, claims, clock, deriveKey(config.secrets.tokenKey, "one-time-code").toString("base64url"), config.twoFactor.codeLength);

  return { config, log, clock, models, events, passwords, keys, access, authState, claims, sessions, users, signIn, limiter, mailer, links, userData, flows, codes, sms, totp, sealer };
}

export type Kernel = ReturnType<typeof createKernel>;

export function createApp(config: Config, conn: Connection, log: Logger, clock: Clock = systemClock) {
  const kernel = createKernel(config, conn, log, clock);
  const { models, keys, authState, claims, limiter, sessions } = kernel;
  const confirmation = new ConfirmationService(kernel);
  // Installs itself as the sign-in gate: every primary sign-in then passes through it.
  const twoFactor = new TwoFactorService(kernel);
  const features = {
    auth: new AuthService(kernel, confirmation),
    registration: new RegistrationService(kernel, confirmation),
    roles: new RoleService(kernel),
    accounts: new AccountService(kernel),
    changePassword: new ChangePasswordService(kernel),
    changeEmail: new ChangeEmailService(kernel),
    changeUsername: new ChangeUsernameService(kernel),
    recovery: new RecoveryService(kernel),
    profile: new ProfileService(kernel),
    deleteAccount: new DeleteAccountService(kernel),
    // Without passkeys there is no PASSKEY method for the second step to offer (nor a lookup per sign-in).
    webauthn: new WebAuthnService(kernel, confirmation, config.twoFactor.enabled && config.webauthn.enabled ? twoFactor : null),
    magicLink: new MagicLinkService(kernel),
    twoFactor,
    unifiedSignIn: new UnifiedSignInService(kernel, twoFactor, confirmation),
    confirmation,
  };

  const timers: NodeJS.Timeout[] = [];
  return {
    ...kernel,
    features,
    /** Runs once the database is reachable: indexes, bootstrap roles, first signing key. */
    async onDatabaseReady(): Promise<void> {
      await ensureIndexes(models);
      await features.profile.ensureCollection();
      await features.roles.bootstrap(config.roles.bootstrap);
      await keys.ensure();
    },
    startBackgroundJobs(): void {
      authState.startFeed();
      const every = (ms: number, job: () => Promise<unknown>) => {
        const t = setInterval(() => void job().catch((err: unknown) => log.debug({ err: (err as Error).message }, "background job failed")), ms);
        t.unref();
        timers.push(t);
      };
      every(config.tokens.keyRefreshSeconds * 1000, () => keys.reload());
      every(60_000, () => features.webauthn.sweep());
      every(60_000, () => Promise.all([claims.sweep(), limiter.store.sweep(), authState.sweepFeed(), sessions.sweep(), kernel.links.sweep(), kernel.flows.sweep(), kernel.codes.sweep()]));
    },
    async stop(): Promise<void> {
      timers.forEach(clearInterval);
      authState.stop();
      kernel.mailer.close();
      await limiter.store.close();
    },
  };
}

export type App = ReturnType<typeof createApp>;
export type { Models };
