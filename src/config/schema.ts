// The one configuration object. Every key has a default, a one-line description and (where it has
// one) its unit in its name. Environment variable = path in SCREAMING_SNAKE_CASE joined by "_"
// (http.port → HTTP_PORT), plus the aliases in env.ts (PORT, MONGODB_URI, REDIS_URL, …).
import { bool, int, list, oneOf, optionalStr, str, z } from "./options.js";

const DAY = 86_400;

export const configSchema = z.object({
  env: oneOf(["development", "test", "production"], "development", "Run mode (NODE_ENV). Production requires secrets and an SMTP server (SMTP_URL), and hides introspection."),
  dataDir: str(".data", "Directory for the embedded database, generated development secrets and dev output."),
  productName: str("GraphQL Auth", "Product name used in token issuer defaults and messages."),
  publicUrl: str("http://localhost:4000", "Public base URL of this server; links and the token issuer are built from it, never from request headers."),

  http: z.object({
    host: str("0.0.0.0", "Interface to listen on."),
    port: int(4000, "TCP port to listen on (0 picks a free port).", { max: 65535 }),
    bodyLimitBytes: int(65_536, "Largest request body accepted; larger ones get 413 before parsing.", { min: 1024 }),
    trustProxyHops: int(0, "Number of reverse proxies whose X-Forwarded-For entries are trusted for the client address."),
    requestTimeoutMs: int(15_000, "A request that takes longer is answered 503 and its socket closed."),
    shutdownGraceMs: int(10_000, "How long a clean shutdown waits for in-flight requests to finish."),
    corsOrigins: list([], "Origins allowed to call /graphql from a browser with credentials (exact match). Empty: no CORS headers."),
  }),

  database: z.object({
    uri: optionalStr("MongoDB connection string (MONGODB_URI). Unset: start the embedded FerretDB under dataDir.", "embedded"),
    embeddedPort: int(27_117, "Port of the embedded FerretDB (127.0.0.1 only).", { max: 65535 }),
    serverSelectionTimeoutMs: int(3_000, "How long a query waits for a reachable database before failing with DATABASE_UNAVAILABLE."),
    socketTimeoutMs: int(10_000, "Socket inactivity timeout of database connections."),
    maxPoolSize: int(20, "Connections per process to the database.", { min: 1 }),
  }),

  log: z.object({
    level: oneOf(["fatal", "error", "warn", "info", "debug", "trace", "silent"], "info", "pino log level (LOG_LEVEL)."),
  }),

  graphql: z.object({
    introspection: bool(true, "Allow schema introspection (Apollo Studio). Forced off in production unless set explicitly.", "true (false in production)"),
    maxDepth: int(12, "Deepest selection nesting accepted.", { min: 2 }),
    maxAliases: int(15, "Aliases accepted in one document (100 aliased `login`s are refused outright).", { min: 1 }),
    maxCost: int(5_000, "Largest computed query cost accepted.", { min: 10 }),
    maxTokens: int(2_000, "Largest number of lexical tokens in one document.", { min: 50 }),
    maxDirectives: int(30, "Directives accepted in one document.", { min: 1 }),
  }),

  passwords: z.object({
    bcryptCost: int(12, "bcrypt work factor (log2 rounds). Hashes with another cost are upgraded at the next login.", { min: 4, max: 31 }),
    minLength: int(8, "Fewest Unicode code points in a password (after NFKD).", { min: 1 }),
    maxLength: int(128, "Most Unicode code points in a password (after NFKD).", { min: 8, max: 4096 }),
  }),

  tokens: z.object({
    issuer: optionalStr("JWT `iss` of access tokens.", "publicUrl"),
    audience: str("graphql-auth", "JWT `aud` of access tokens; other subgraphs verify it."),
    accessTokenTtlSeconds: int(900, "Lifetime of an access token. Other services that verify it through the JWKS may accept it this long after revocation.", { min: 10 }),
    keyRefreshSeconds: int(60, "How often each instance reloads the signing key ring from the database.", { min: 1 }),
    keyActivationDelaySeconds: int(180, "A rotated-in signing key is published this long before it signs (at least keyRefreshSeconds), so every instance's JWKS has it first.", { min: 0 }),
    verifiedCacheSize: int(10_000, "Verified access tokens kept in memory per process (each until its exp).", { min: 0 }),
  }),

  sessions: z.object({
    absoluteTtlSeconds: int(90 * DAY, "A session (and its refresh tokens) ends this long after sign-in, whatever its use.", { min: 60 }),
    idleTtlSeconds: int(7 * DAY, "A session not used for this long ends.", { min: 60 }),
    cookieName: str("__Host-gqlauth", "Name of the httpOnly session cookie. The __Host- prefix needs cookieSecure."),
    cookieSecure: bool(true, "Mark the session cookie Secure (browsers accept it on http://localhost too)."),
    cookieSameSite: oneOf(["Strict", "Lax"], "Lax", "SameSite attribute of the session cookie."),
    stateCacheTtlMs: int(30_000, "Upper bound on how long a process trusts a cached session/user state; revocations reach every process sooner through the revocation feed.", { min: 0 }),
    revocationPollMs: int(500, "How often each process reads the revocation feed written by other processes (CLI, other instances).", { min: 50 }),
    lastSeenWriteIntervalSeconds: int(60, "A session's last-seen time is written at most this often.", { min: 1 }),
  }),

  freshness: z.object({
    maxAgeSeconds: int(DAY, "Operations declared @policy(fresh) need a primary authentication or re-verification this recent.", { min: 0 }),
    graceSeconds: int(3_600, "Extra time allowed beyond maxAgeSeconds so a user is not bounced mid-form.", { min: 0 }),
  }),

  registration: z.object({
    enabled: bool(true, "Offer the register mutation."),
    usernameEnabled: bool(true, "Accept an optional username at registration and as a login identity."),
    defaultRoles: list(["user"], "Roles every new user gets."),
  }),

  changePassword: z.object({
    enabled: bool(true, "Offer the changePassword mutation."),
  }),

  confirmation: z.object({
    enabled: bool(true, "Email confirmation (confirmEmail, sendConfirmation): registration mails a confirmation link. Off: registration mails a welcome message instead."),
    tokenTtlSeconds: int(2 * DAY, "Lifetime of a confirmation link.", { min: 60 }),
    requiredForLogin: bool(true, "Unconfirmed users cannot sign in (CONFIRMATION_REQUIRED, said only after a correct password)."),
    sendPerAddress: int(3, "sendConfirmation requests per address (known or not) per rateLimit.windowSeconds.", { min: 1 }),
    sendPerClient: int(20, "sendConfirmation requests per client address per rateLimit.windowSeconds.", { min: 1 }),
  }),

  recovery: z.object({
    enabled: bool(true, "Password recovery (requestPasswordReset, resetPassword) and username recovery (recoverUsername) by mail."),
    tokenTtlSeconds: int(3_600, "Lifetime of a password reset link (shorter than Flask-Security's 1 day: the link is as good as the password).", { min: 60 }),
    sendPerAddress: int(3, "requestPasswordReset and recoverUsername requests (together) per address (known or not) per rateLimit.windowSeconds.", { min: 1 }),
    sendPerClient: int(20, "requestPasswordReset and recoverUsername requests (together) per client address per rateLimit.windowSeconds.", { min: 1 }),
  }),

  changeEmail: z.object({
    enabled: bool(true, "Offer changeEmail and confirmChangeEmail: a link to the new address, a notice to the current one."),
    tokenTtlSeconds: int(7_200, "Lifetime of a change-email link.", { min: 60 }),
    requestsPerUser: int(5, "changeEmail requests per user, and per new address, per rateLimit.windowSeconds.", { min: 1 }),
  }),

  changeUsername: z.object({
    enabled: bool(true, "Offer changeUsername (only while registration.usernameEnabled)."),
  }),

  profile: z.object({
    enabled: bool(true, "Offer the user profile: `User.profile` (read by its owner or holders of users-read) and updateProfile (its owner only)."),
  }),

  deleteAccount: z.object({
    enabled: bool(true, "Offer deleteAccount: a user deletes their own account and everything it owns (fresh session required)."),
    requirePassword: bool(true, "deleteAccount also needs the current password (when the account has one), on top of a fresh session."),
  }),

  magicLink: z.object({
    enabled: bool(true, "Offer requestSignInLink and signInWithLink: sign in by a single-use link mailed to a confirmed address (still followed by the second factor when the user has one)."),
    tokenTtlSeconds: int(600, "Lifetime of a sign-in link (short: it signs in whoever opens it).", { min: 60, max: 3_600 }),
    sendPerAddress: int(3, "requestSignInLink requests per address (known or not) per rateLimit.windowSeconds.", { min: 1 }),
    sendPerClient: int(20, "requestSignInLink requests per client address per rateLimit.windowSeconds.", { min: 1 }),
  }),

  unifiedSignIn: z.object({
    enabled: bool(true, "Offer unified sign-in: usSendCode, usSignIn (identity + password or any one-time code), usSendVerifyCode, usVerify."),
    secondFactorAfter: list(["password", "email"], "Passcode kinds after which a user with a second factor must still pass it (password, email, sms, authenticator); sms and authenticator codes are possession factors themselves."),
    sendPerIdentity: int(3, "usSendCode requests per identity (known or not) per rateLimit.windowSeconds.", { min: 1 }),
    sendPerClient: int(20, "usSendCode requests per client address per rateLimit.windowSeconds.", { min: 1 }),
  }),

  twoFactor: z.object({
    enabled: bool(true, "Offer second factors (setupTwoFactor, verifyTwoFactor, recovery codes, rescue)."),
    required: bool(false, "Every user must have a second factor: a sign-in without one sets one up before any session exists."),
    methods: list(["AUTHENTICATOR", "EMAIL", "SMS"], "Second-factor methods users may set up (AUTHENTICATOR, EMAIL, SMS)."),
    issuer: optionalStr("Issuer shown by authenticator apps (otpauth URI).", "productName"),
    flowTtlSeconds: int(300, "How long a sign-in waits for its second factor.", { min: 30, max: 3_600 }),
    attemptsPerFlow: int(5, "Wrong second-factor codes one sign-in flow may take before it is discarded.", { min: 1 }),
    attemptsPerUser: int(10, "Second-factor verification attempts per user (across flows) per rateLimit.windowSeconds.", { min: 1 }),
    attemptsPerUserPerDay: int(30, "Second-factor verification attempts per user per day: the second tier, so a holder of the password cannot keep guessing codes window after window.", { min: 1 }),
    codeTtlSeconds: int(300, "Lifetime of a code sent by mail or SMS.", { min: 30, max: 3_600 }),
    codeLength: int(6, "Digits of a code sent by mail or SMS, and of authenticator codes.", { min: 6, max: 8 }),
    sendPerUser: int(5, "Codes sent (mail or SMS, any purpose) per user per rateLimit.windowSeconds.", { min: 1 }),
    totpWindowSteps: int(1, "Authenticator codes of this many 30-second steps before or after now are accepted (clock drift).", { min: 0, max: 4 }),
    recoveryCodeCount: int(10, "Recovery codes in a generated set.", { min: 4, max: 30 }),
    helpAddress: optionalStr("Address that gets users' requests for help with a lost second factor (requestTwoFactorHelp). Unset: the request is not offered."),
    rescueByEmail: bool(true, "A user who lost their second factor may have a one-time rescue code mailed to their confirmed address during sign-in."),
    rememberDeviceDays: int(0, "Days a browser or client that passed the second factor may skip it (0: off). Bound to the user's uniquifier: a password change forgets every device.", { min: 0, max: 365 }),
    setupTtlSeconds: int(600, "How long a started setup waits for its confirming code.", { min: 60, max: 3_600 }),
  }),

  webauthn: z.object({
    enabled: bool(true, "Passkeys (WebAuthn): register, sign in (first factor), verify for freshness, list, rename, delete, and the /passkeys page."),
    rpId: optionalStr("Relying-party ID passkeys are bound to: the host of the origins or a parent domain of them (example.com serves auth.example.com). Changing it later orphans every registered passkey.", "publicUrl's host"),
    rpName: optionalStr("Relying-party name browsers and authenticators show.", "productName"),
    origins: list([], "Origins (scheme://host[:port], exact match) whose pages may run passkey ceremonies. Empty: publicUrl's origin."),
    registerTimeoutSeconds: int(1_800, "Lifetime of a registration challenge (also the browser's timeout).", { min: 30, max: 86_400 }),
    signInTimeoutSeconds: int(60, "Lifetime of a sign-in or verify challenge (also the browser's timeout).", { min: 10, max: 600 }),
    allowIdentityHints: bool(false, "wanSignInOptions accepts an identity and lists that user's passkeys (allowCredentials); an unknown identity gets a same-shaped made-up list. Off: usernameless only."),
    passkeySatisfiesBothFactors: bool(true, "A passkey sign-in whose authenticator verified the user (PIN, biometrics) counts as both factors: no second factor is asked."),
    maxPerUser: int(20, "Most passkeys one user may register.", { min: 1, max: 100 }),
  }),

  identity: z.object({
    usernameMinLength: int(4, "Fewest characters in a username.", { min: 1 }),
    usernameMaxLength: int(32, "Most characters in a username.", { min: 1, max: 256 }),
    emailMaxLength: int(254, "Longest accepted email address.", { min: 6, max: 320 }),
  }),

  mail: z.object({
    smtpUrl: optionalStr("SMTP server (SMTP_URL): smtp://user:pass@host:587 (STARTTLS when offered; add ?requireTLS=true to insist) or smtps://user:pass@host:465. Unset: each message is written as an .eml file under dataDir/mail and its link is logged (development only: production refuses to start without it).", "unset (file mailer)"),
    from: str("GraphQL Auth <no-reply@localhost>", "Sender (From) of every message: one address, optionally with a display name."),
    timeoutMs: int(5_000, "Limit for each SMTP step (connect, greeting, each reply); a whole delivery is abandoned after three times this, and the caller gets MAIL_DELIVERY_FAILED.", { min: 100, max: 120_000 }),
  }),

  sms: z.object({
    provider: oneOf(["file", "twilio"], "file", "Where SMS codes go: file (development: written under dataDir/sms and logged) or twilio (Twilio's Messages API over HTTPS)."),
    from: optionalStr("Sender number (E.164) or messaging service sender for the twilio provider."),
    twilioAccountSid: optionalStr("Twilio account SID (twilio provider)."),
    twilioAuthToken: optionalStr("Twilio auth token (twilio provider); a secret: set it from the environment."),
    apiBaseUrl: str("https://api.twilio.com", "Base URL of the Messages API (a Twilio-compatible gateway or a test server)."),
    timeoutMs: int(5_000, "Limit for one SMS request; the caller gets SMS_DELIVERY_FAILED after it.", { min: 100, max: 60_000 }),
  }),

  genericResponses: bool(true, "Answer login and registration identically whether or not the account exists (no user enumeration)."),

  rateLimit: z.object({
    redisUrl: optionalStr("Redis URL (REDIS_URL) for the limiter store. Unset: the database is the store.", "database"),
    redisKeyPrefix: str("gqlauth:rl:", "Prefix of the limiter's Redis keys (separate deployments sharing one Redis)."),
    loginPerIdentity: int(10, "Sign-in attempts per identity (known or not) per window; a success resets the count.", { min: 1 }),
    loginPerClient: int(100, "Sign-in attempts per client address per window.", { min: 1 }),
    windowSeconds: int(900, "Length of the limiter window.", { min: 1 }),
    registerPerClient: int(20, "Registrations per client address per window.", { min: 1 }),
  }),

  roles: z.object({
    bootstrap: z
      .array(z.object({ name: z.string(), description: z.string().default(""), permissions: z.array(z.string()).default([]) }))
      .default([
        { name: "user", description: "Every registered user", permissions: ["user-read", "user-write"] },
        { name: "admin", description: "Administrators", permissions: ["roles-read", "roles-admin", "users-read", "users-admin"] },
      ])
      .meta({ description: "Roles created at start when missing (JSON in ROLES_BOOTSTRAP); existing roles are left alone.", defaultDoc: "user (user-read, user-write), admin (roles-read, roles-admin, users-read, users-admin)" }),
  }),

  secrets: z.object({
    pepper: optionalStr("HMAC key for password pre-hashing (≥ 32 chars). Required in production; generated into dataDir in development.", "generated"),
    tokenKey: optionalStr("HMAC key for refresh tokens and other server-made tokens (≥ 32 chars). Required in production; generated in development.", "generated"),
    encryptionKey: optionalStr("Key that encrypts private signing keys and other secrets at rest (≥ 32 chars). Required in production; generated in development.", "generated"),
    previousEncryptionKeys: list([], "Earlier encryption keys (comma-separated), still accepted to decrypt second-factor secrets after a rotation; each value is re-encrypted with encryptionKey when next used (and by `gql-auth secrets reseal`)."),
  }),
});

export type Config = z.infer<typeof configSchema> & { secrets: Required<z.infer<typeof configSchema>["secrets"]> };
export type ConfigInput = z.input<typeof configSchema>;
