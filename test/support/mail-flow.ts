// What the tests of the mail flows (confirmation, recovery, change email, …) share: a test server
// whose mail goes to a real SMTP server in the test process, and readers for the mails and links
// it sends.
import { expect } from "vitest";
import type { Clock } from "../../src/core/clock.js";
import { postWithHost } from "./raw-http.js";
import { startTestServer, type TestServer } from "./server.js";
import { linksIn, startSmtpServer, type ReceivedMail, type TestSmtpServer } from "./smtp.js";

/** The public URL the mail servers below build their links on. */
export const PUBLIC_URL = "https://auth.example.test";

export interface MailTestServer {
  s: TestServer;
  smtp: TestSmtpServer;
}

/** A fresh SMTP server and a test server that mails through it, its links on PUBLIC_URL (overridable). */
export async function startMailTestServer(overrides: Record<string, unknown> = {}, clock?: Clock): Promise<MailTestServer> {
  const smtp = await startSmtpServer();
  try {
    const { mail, ...rest } = overrides;
    const s = await startTestServer({ publicUrl: PUBLIC_URL, ...rest, mail: { smtpUrl: smtp.url, ...(mail as Record<string, unknown> | undefined) } }, clock);
    return { s, smtp };
  } catch (err) {
    await smtp.close();
    throw err;
  }
}

/** For afterAll: closes what startMailTestServer started (either is undefined when beforeAll failed). */
export async function closeMailTestServer(s: TestServer | undefined, smtp: TestSmtpServer | undefined): Promise<void> {
  await s?.close();
  await smtp?.close();
}

/** The first mail for `purpose` (X-Mail-Purpose) to `to` that arrived after mail number `afterSeq`. */
export const mailOf = (smtp: TestSmtpServer, purpose: string, to: string, afterSeq = 0): Promise<ReceivedMail> =>
  smtp.waitFor((m) => m.seq > afterSeq && m.purpose === purpose && m.envelope.to.includes(to));

/**
 * The token of the link to `${publicUrl}/${path}#token=…` in a mail, checking the link's shape on
 * the way: built on the configured public URL (never a request header), the token in the fragment
 * (kept out of Referer headers and third-party logs), 32 random bytes in base64url, and the same
 * link in the HTML part.
 */
export function tokenOf(mail: ReceivedMail, path: string, publicUrl = PUBLIC_URL): string {
  const link = linksIn(mail).find((l) => l.includes("#token="));
  if (!link) throw new Error(`no link in: ${mail.text}`);
  expect(link.startsWith(`${publicUrl}/${path}#token=`)).toBe(true);
  const token = link.slice(link.indexOf("#token=") + "#token=".length);
  expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
  expect(mail.html).toContain(link);
  return token;
}

/** The checked token of the first link mail for `purpose` to `to` after `afterSeq` (the link's path is the purpose). */
export const mailedToken = async (smtp: TestSmtpServer, purpose: string, to: string, afterSeq = 0): Promise<string> =>
  tokenOf(await mailOf(smtp, purpose, to, afterSeq), purpose);

/** Host headers a client might forge to steer the links of a mail (all must be ignored). */
export const FORGED_HOST_HEADERS = { host: "evil.example", "x-forwarded-host": "evil2.example", "x-forwarded-proto": "http", forwarded: "host=evil3.example" };

/**
 * Sends one GraphQL operation with forged Host headers (and any `headers`, e.g. authorization),
 * waits for the `purpose` mail to `to`, and checks no forged host reached it. Returns the mail.
 */
export async function mailDespiteForgedHost(
  s: TestServer,
  smtp: TestSmtpServer,
  op: { query: string; variables: Record<string, unknown> },
  mail: { purpose: string; to: string },
  headers: Record<string, string> = {},
): Promise<ReceivedMail> {
  const seq = smtp.received.length;
  const r = await postWithHost(s.url, JSON.stringify(op), { ...FORGED_HOST_HEADERS, ...headers });
  expect(r.status).toBe(200);
  const received = await mailOf(smtp, mail.purpose, mail.to, seq);
  expect(received.raw).not.toMatch(/evil/);
  return received;
}
