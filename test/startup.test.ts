// Start-up failures that retrying cannot fix end the start with a clear message instead of a
// retry loop that blames the database.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "./support/server.js";

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
