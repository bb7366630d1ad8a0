// Loads and validates the one configuration object: defaults ← environment ← explicit overrides.
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { configSchema, type Config, type ConfigInput } from "./schema.js";
import { z, type OptionMeta } from "./options.js";

export type { Config, ConfigInput };

/** Environment names that do not follow the PATH_IN_SNAKE_CASE rule, for their familiarity. */
export const ENV_ALIASES: Record<string, string> = {
  NODE_ENV: "env",
  PORT: "http.port",
  MONGODB_URI: "database.uri",
  REDIS_URL: "rateLimit.redisUrl",
  SMTP_URL: "mail.smtpUrl",
  LOG_LEVEL: "log.level",
  DATA_DIR: "dataDir",
  PUBLIC_URL: "publicUrl",
};

export const envNameOf = (path: string): string =>
  path
    .split(".")
    .map((seg) => seg.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase())
    .join("_");

export interface OptionDoc {
  path: string;
  env: string;
  description: string;
  default: string;
}

/** Every leaf option with its doc, for the README table and for the environment loader. */
export function describeOptions(schema: z.ZodType = configSchema, prefix = ""): OptionDoc[] {
  if (schema instanceof z.ZodObject) {
    return Object.entries(schema.shape as Record<string, z.ZodType>).flatMap(([key, child]) =>
      describeOptions(child, prefix ? `${prefix}.${key}` : key),
    );
  }
  const meta = (z.globalRegistry.get(schema) ?? {}) as Partial<OptionMeta>;
  const parsed = schema.safeParse(undefined);
  const def = meta.defaultDoc ?? (parsed.success ? JSON.stringify(parsed.data) : "required");
  const alias = Object.entries(ENV_ALIASES).find(([, p]) => p === prefix)?.[0];
  return [{ path: prefix, env: alias ?? envNameOf(prefix), description: meta.description ?? "", default: def }];
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split(".");
  let node = target;
  for (const key of keys.slice(0, -1)) {
    node[key] ??= {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1] as string] = value;
}

function rawFromEnv(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  for (const opt of describeOptions()) {
    setPath(raw, opt.path, undefined);
    const byName = env[envNameOf(opt.path)];
    const byAlias = Object.entries(ENV_ALIASES).find(([, p]) => p === opt.path)?.[0];
    const value = (byAlias ? env[byAlias] : undefined) ?? byName;
    if (value === undefined || value === "") continue;
    setPath(raw, opt.path, opt.path === "roles.bootstrap" ? JSON.parse(value) : value);
  }
  return raw;
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] =
      v && typeof v === "object" && !Array.isArray(v) && b && typeof b === "object" && !Array.isArray(b)
        ? deepMerge(b as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

export class ConfigError extends Error {}

const SECRET_NAMES = ["pepper", "tokenKey", "encryptionKey"] as const;

/** Production needs every secret from the environment; development keeps generated ones in dataDir. */
function resolveSecrets(cfg: z.infer<typeof configSchema>): Config["secrets"] {
  const given = cfg.secrets;
  const missing = SECRET_NAMES.filter((n) => !given[n]);
  for (const n of SECRET_NAMES) {
    const v = given[n];
    if (v && v.length < 32) throw new ConfigError(`secrets.${n} (${envNameOf(`secrets.${n}`)}) must be at least 32 characters`);
  }
  if (missing.length === 0) return given as Config["secrets"];
  if (cfg.env === "production") {
    throw new ConfigError(`missing secrets in production: ${missing.map((n) => envNameOf(`secrets.${n}`)).join(", ")}`);
  }
  const file = join(cfg.dataDir, "secrets.json");
  let stored: Partial<Record<(typeof SECRET_NAMES)[number], string>> = {};
  if (existsSync(file)) stored = JSON.parse(readFileSync(file, "utf8")) as typeof stored;
  let changed = false;
  for (const n of SECRET_NAMES) {
    if (!stored[n]) {
      stored[n] = randomBytes(32).toString("base64url");
      changed = true;
    }
  }
  if (changed) {
    mkdirSync(cfg.dataDir, { recursive: true });
    writeFileSync(file, JSON.stringify(stored, null, 2), { mode: 0o600 });
  }
  return { ...given, ...Object.fromEntries(SECRET_NAMES.map((n) => [n, given[n] ?? stored[n]])) } as Config["secrets"];
}

export function loadConfig(overrides: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = process.env): Config {
  const raw = deepMerge(rawFromEnv(env), overrides);
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join(".")} (${envNameOf(i.path.join("."))}): ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join("\n")}`);
  }
  const cfg = result.data;
  cfg.dataDir = resolve(cfg.dataDir);
  const introspectionGiven = env[envNameOf("graphql.introspection")] !== undefined || (overrides.graphql as Record<string, unknown> | undefined)?.introspection !== undefined;
  if (cfg.env === "production" && !introspectionGiven) cfg.graphql.introspection = false;
  cfg.publicUrl = cfg.publicUrl.replace(/\/+$/, "");
  cfg.tokens.issuer ??= cfg.publicUrl;
  if (cfg.sessions.cookieName.startsWith("__Host-") && !cfg.sessions.cookieSecure) {
    throw new ConfigError("sessions.cookieName uses the __Host- prefix, which browsers only accept with sessions.cookieSecure=true");
  }
  if (cfg.tokens.keyActivationDelaySeconds < cfg.tokens.keyRefreshSeconds) {
    throw new ConfigError("tokens.keyActivationDelaySeconds must be at least tokens.keyRefreshSeconds, or some instance would sign with a key another does not publish yet");
  }
  if (cfg.identity.usernameMinLength > cfg.identity.usernameMaxLength) throw new ConfigError("identity.usernameMinLength > usernameMaxLength");
  if (cfg.passwords.minLength > cfg.passwords.maxLength) throw new ConfigError("passwords.minLength > maxLength");
  // The file mailer only writes .eml files: in production no user would get a confirmation or
  // reset link, and nothing would say so. No opt-out: a deployment must name a real SMTP server.
  if (cfg.env === "production" && !cfg.mail.smtpUrl) {
    throw new ConfigError(
      "mail.smtpUrl (SMTP_URL) is required in production: without it messages (confirmation and reset links, notices) are only written as files under dataDir/mail and no user receives them. Set SMTP_URL=smtp://user:pass@host:587 or smtps://user:pass@host:465",
    );
  }
  if (cfg.twoFactor.helpAddress !== undefined && !/^[^\s@<>,;"]+@[^\s@<>,;"]+\.[^\s@<>,;"]+$/.test(cfg.twoFactor.helpAddress)) {
    throw new ConfigError("twoFactor.helpAddress (TWO_FACTOR_HELP_ADDRESS) must be one plain email address, e.g. security@example.com");
  }
  // The same for SMS: the file sender would swallow every code of users who chose SMS.
  if (cfg.env === "production" && cfg.twoFactor.enabled && cfg.twoFactor.methods.includes("SMS") && cfg.sms.provider === "file") {
    throw new ConfigError(
      "twoFactor.methods offers SMS but sms.provider is file (development only: codes are written under dataDir/sms and no user receives them). Set SMS_PROVIDER=twilio with SMS_FROM, SMS_TWILIO_ACCOUNT_SID and SMS_TWILIO_AUTH_TOKEN, or leave SMS out: TWO_FACTOR_METHODS=AUTHENTICATOR,EMAIL",
    );
  }
  return { ...cfg, secrets: resolveSecrets(cfg) };
}
