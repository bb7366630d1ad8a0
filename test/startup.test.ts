// Start-up failures that retrying cannot fix end the start with a clear message instead of a
// retry loop that blames the database.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "./support/server.js";
import { startSmtpServer } from "./support/smtp.js";
import { SMS_ACCOUNT } from "./support/sms.js";
import { freePort } from "./support/net.js";

let first: TestServer;
const dbName = `t_start_${randomBytes(6).toString("hex")}`;
beforeAll(async () => {
  first = await startTestServer({}, undefined, { dbName }); // seals signing key 1 with its secrets
});
afterAll(() => first.close());

describe("start-up", () => {
  it("refuses to start with another SECRETS_ENCRYPTION_KEY than the one that sealed the signing keys", async () => {
    const other = { ...first.config.secrets, encryptionKey: randomBytes(32).toString("base64url") };
    const started = Date.now();
    await expect(startTestServer({ secrets: other }, undefined, { dbName })).rejects.toThrow(/cannot be decrypted: SECRETS_ENCRYPTION_KEY differs/);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("refuses an unparsable MONGODB_URI at once", async () => {
    await expect(startTestServer({ database: { uri: "not-a-mongodb-uri" } })).rejects.toThrow(/not a valid MongoDB connection string/);
  });
});

describe("production mail", () => {
  const secret = () => randomBytes(32).toString("base64url");
  const secrets = { pepper: secret(), tokenKey: secret(), encryptionKey: secret() };
  const REFUSED = /mail\.smtpUrl \(SMTP_URL\) is required in production/;
  const NO_SMS = ["AUTHENTICATOR", "EMAIL"];

  it("refuses to start in production with the development file mailer (no SMTP URL), naming the option", async () => {
    await expect(startTestServer({ env: "production", secrets })).rejects.toThrow(REFUSED);
    await expect(startTestServer({ env: "production", secrets, mail: { smtpUrl: undefined, from: "Auth <auth@example.com>" } })).rejects.toThrow(REFUSED);
  });

  it("starts in production with an SMTP server, and in development without one", async () => {
    const smtp = await startSmtpServer();
    try {
      const prod = await startTestServer({ env: "production", secrets, mail: { smtpUrl: smtp.url }, twoFactor: { methods: NO_SMS } });
      expect(prod.running.app.mailer.transport).toBe("smtp");
      await prod.close();
    } finally {
      await smtp.close();
    }
    const dev = await startTestServer({ env: "development" });
    expect(dev.running.app.mailer.transport).toBe("file");
    await dev.close();
  });

  it("refuses SMS codes in production through the development file sender; starts with a real provider or without SMS", async () => {
    const mail = { smtpUrl: "smtp://127.0.0.1:2525" }; // never contacted: the configuration is refused first
    await expect(startTestServer({ env: "production", secrets, mail })).rejects.toThrow(/twoFactor\.methods offers SMS but sms\.provider is file.*TWO_FACTOR_METHODS=AUTHENTICATOR,EMAIL/);
    const smtp = await startSmtpServer();
    try {
      for (const extra of [{ twoFactor: { methods: NO_SMS } }, { sms: { provider: "twilio", ...SMS_ACCOUNT } }, { twoFactor: { enabled: false } }]) {
        const prod = await startTestServer({ env: "production", secrets, mail: { smtpUrl: smtp.url }, ...extra });
        await prod.close();
      }
    } finally {
      await smtp.close();
    }
  });

  it("the real process (NODE_ENV=production, no SMTP_URL) exits 2 at once with the message, before touching a database", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "gqlauth-prod-mail-"));
    try {
      const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: "production", DATA_DIR: dataDir, SECRETS_PEPPER: secrets.pepper, SECRETS_TOKEN_KEY: secrets.tokenKey, SECRETS_ENCRYPTION_KEY: secrets.encryptionKey };
      for (const name of ["SMTP_URL", "MAIL_SMTP_URL", "MONGODB_URI"]) delete env[name];
      env.DATABASE_EMBEDDED_PORT = String(await freePort()); // should the check ever fail, it would start one
      // Its own process group: a regression that starts the server (and its FerretDB) is killed whole.
      const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], { env, stdio: ["ignore", "pipe", "pipe"], detached: true });
      let out = "";
      child.stdout.on("data", (b: Buffer) => (out += b.toString()));
      child.stderr.on("data", (b: Buffer) => (out += b.toString()));
      const code = await new Promise<number | null>((resolve, reject) => {
        const timer = setTimeout(() => {
          if (child.pid) process.kill(-child.pid, "SIGKILL");
          reject(new Error(`still running after 20 s:\n${out}`));
        }, 20_000);
        child.once("exit", (c) => {
          clearTimeout(timer);
          resolve(c);
        });
      });
      expect(code, out).toBe(2);
      expect(out).toMatch(/^configuration error: mail\.smtpUrl \(SMTP_URL\) is required in production/m);
      expect(out).not.toMatch(/FerretDB|database/i);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
