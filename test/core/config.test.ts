// Configuration checks that refuse a start (pure logic: no server, no database).
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config/index.js";

const secret = () => randomBytes(32).toString("base64url");
const PRODUCTION = { NODE_ENV: "production", SECRETS_PEPPER: secret(), SECRETS_TOKEN_KEY: secret(), SECRETS_ENCRYPTION_KEY: secret(), SMTP_URL: "smtp://mail.example.com:587" };

describe("loadConfig", () => {
  it("production: SMS through the file sender is refused; a real provider or no SMS is accepted", () => {
    expect(() => loadConfig({}, PRODUCTION)).toThrow(ConfigError);
    expect(() => loadConfig({}, PRODUCTION)).toThrow(/TWO_FACTOR_METHODS=AUTHENTICATOR,EMAIL/);
    expect(loadConfig({}, { ...PRODUCTION, TWO_FACTOR_METHODS: "AUTHENTICATOR,EMAIL" }).twoFactor.methods).toEqual(["AUTHENTICATOR", "EMAIL"]);
    expect(loadConfig({}, { ...PRODUCTION, SMS_PROVIDER: "twilio" }).sms.provider).toBe("twilio");
    expect(loadConfig({}, { ...PRODUCTION, TWO_FACTOR_ENABLED: "false" }).twoFactor.enabled).toBe(false);
    // development keeps the file sender
    expect(loadConfig({}, {}).sms.provider).toBe("file");
  });

  it("twoFactor.helpAddress must be one plain address", () => {
    expect(loadConfig({}, {}).twoFactor.helpAddress).toBeUndefined();
    expect(loadConfig({}, { TWO_FACTOR_HELP_ADDRESS: "security@example.com" }).twoFactor.helpAddress).toBe("security@example.com");
    for (const bad of ["security", "a@b", "a@b.c, d@e.f", "Desk <desk@example.com>", "a@b.c\r\nBcc: x@y.z", "a b@c.d"]) {
      expect(() => loadConfig({}, { TWO_FACTOR_HELP_ADDRESS: bad }), bad).toThrow(/TWO_FACTOR_HELP_ADDRESS/);
    }
  });
});
