// A real browser: Debian's Chromium (installed by scripts/setup.mjs) driven by playwright-core, with
// a CDP virtual authenticator (CTAP2, internal, resident keys, user verification). On the served
// /passkeys page it signs in with a password, registers a passkey, signs out, signs in with the
// passkey, and verifies with it. http://localhost is a secure context, so WebAuthn works without TLS;
// the server's publicUrl (hence rpId "localhost" and the allowed origin) is that page's origin.
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromium, type Browser, type BrowserContext, type CDPSession, type Page } from "playwright-core";
import { registerUser, startTestServer, type TestServer } from "../support/server.js";
import { freePort } from "../support/net.js";

const CHROMIUM = "/usr/bin/chromium";

describe("passkeys in a real browser", () => {
  let s: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let cdp: CDPSession;
  let origin: string;
  let authenticatorId: string;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run \`node scripts/setup.mjs\` (it installs Debian's chromium)`);
    const port = await freePort();
    origin = `http://localhost:${port}`;
    s = await startTestServer({ publicUrl: origin, http: { port } });
    // --no-sandbox: the tests may run as root (CI), where Chromium refuses its sandbox.
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-dev-shm-usage"] });
    context = await browser.newContext();
    page = await context.newPage();
    cdp = await context.newCDPSession(page);
    await cdp.send("WebAuthn.enable");
    ({ authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
      options: { protocol: "ctap2", transport: "internal", hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
    }));
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await s?.close();
  });

  /** Clicks a button of the page and returns the result line once the action has finished. */
  async function act(button: string): Promise<{ status: string; text: string }> {
    await page.click(`#${button}`);
    // A selector, not a function: the page's CSP forbids eval, which waitForFunction would need.
    await page.waitForSelector('#out[data-status="ok"], #out[data-status="error"]', { timeout: 20_000 });
    return { status: (await page.getAttribute("#out", "data-status")) ?? "", text: (await page.textContent("#out")) ?? "" };
  }

  it("registers a passkey, signs out, signs in with it, and verifies with it", async () => {
    const { email, password } = await registerUser(s);
    const consoleErrors: string[] = [];
    page.on("console", (m) => void (m.type() === "error" && consoleErrors.push(m.text())));

    await page.goto(`${origin}/passkeys`);
    await expect.poll(() => page.textContent("#who")).toBe("Signed out");

    await page.fill("#identity", email);
    await page.fill("#password", password);
    expect(await act("login")).toEqual({ status: "ok", text: "SignedIn" });
    await expect.poll(() => page.textContent("#who")).toBe(`Signed in as ${email}`);

    await page.fill("#name", "Browser key");
    expect(await act("register")).toEqual({ status: "ok", text: "Registered Browser key" });
    await expect.poll(() => page.textContent("#keys")).toContain("Browser key (FIRST)");
    const stored = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
    expect(stored.credentials).toEqual([expect.objectContaining({ isResidentCredential: true, rpId: "localhost" })]);

    expect(await act("logout")).toEqual({ status: "ok", text: "Signed out" });
    await expect.poll(() => page.textContent("#who")).toBe("Signed out");

    const signIn = await act("signin");
    expect(signIn).toEqual({ status: "ok", text: `Signed in as ${email}` });
    await expect.poll(() => page.textContent("#who")).toBe(`Signed in as ${email}`);

    const verify = await act("verify");
    expect(verify.status).toBe("ok");
    expect(verify.text).toMatch(/^Verified at \d{4}-/);

    // the server saw a passkey session: amr hwk (+ mfa: the virtual authenticator verifies the user)
    const userId = String((await s.running.app.models.User.findOne({ emailKey: email.toLowerCase() }).lean())?._id);
    const sessions = await s.running.app.models.Session.find({ userId, revokedAt: null }).lean();
    expect(sessions.map((x) => x.amr)).toEqual([["hwk", "mfa"]]);
    const [cred] = await s.running.app.models.WebAuthnCredential.find({ userId }).lean();
    expect(cred?.counter).toBeGreaterThanOrEqual(0);
    expect(cred?.lastUsedAt).toBeTruthy();
    expect(consoleErrors).toEqual([]);
  }, 90_000);

  it("the page warns when opened at an origin that is not allowed", async () => {
    const other = await context.newPage();
    await other.goto(`${origin.replace("localhost", "127.0.0.1")}/passkeys`);
    await expect.poll(() => other.textContent("#out")).toContain("is not in webauthn.origins");
    await other.close();
  }, 30_000);
});
