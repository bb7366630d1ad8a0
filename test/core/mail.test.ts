// The mail port against a real SMTP server in this process (TCP on 127.0.0.1) and real files on
// disk: what arrives is read back from the wire, failures of the server reach the caller as
// MAIL_DELIVERY_FAILED without detail, and hostile values cannot add markup, headers or recipients.
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { AppError } from "../../src/core/errors.js";
import { createMailer, defineTemplate, html, link, MAIL, text, type MailMessage, type MailSettings } from "../../src/core/mail/index.js";
import { freePort } from "../support/net.js";
import { linksIn, parseMessage, startSmtpServer, type ReceivedMail, type TestSmtpServer } from "../support/smtp.js";

const FROM = "GraphQL Auth <no-reply@example.test>";
const PUBLIC_URL = "https://auth.example.test/";
const SMTP_USER = "mailer";
const SMTP_PASS = "pa55-w0rd-Secret!";

/** A pino logger whose lines the test can read. */
function captureLog() {
  const lines: Array<Record<string, unknown>> = [];
  const raw: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString("utf8").split("\n").filter(Boolean)) {
        raw.push(l);
        lines.push(JSON.parse(l) as Record<string, unknown>);
      }
      cb();
    },
  });
  return { log: pino({ level: "debug", base: undefined }, stream), lines, raw, text: () => raw.join("\n") };
}

const confirm = defineTemplate<{ name: string; url: string }>("confirm-email", {
  subject: (_p, site) => `Confirm your email for ${site.productName}`,
  text: (p) => text`Hello ${p.name},\n\nConfirm your address by opening this link:\n${p.url}\n\nIf you did not ask for this, ignore this message.`,
  html: (p) => html`<p>Hello ${p.name},</p>\n<p>Confirm your address: ${link(p.url, "Confirm my email")}</p>\n<p>If you did not ask for this, ignore this message.</p>`,
});

// A token long enough that the text part needs soft line breaks (quoted-printable) to carry it.
const TOKEN = "tok_" + "A1b2C3d4E5".repeat(10);
const CONFIRM_URL = `${PUBLIC_URL}confirm-email#token=${TOKEN}`;

let dataDir: string;
let smtp: TestSmtpServer;
let authSmtp: TestSmtpServer;
let seq = 0;
const rcpt = () => `user${++seq}@example.test`;

const settings = (over: Partial<MailSettings> = {}): MailSettings => ({
  from: FROM,
  timeoutMs: 5_000,
  dataDir,
  productName: "GraphQL Auth",
  publicUrl: PUBLIC_URL,
  ...over,
});

const failureOf = async (p: Promise<unknown>): Promise<{ err: AppError; ms: number }> => {
  const t0 = Date.now();
  const err: unknown = await p.then(
    () => expect.fail("send resolved"),
    (e: unknown) => e,
  );
  const ms = Date.now() - t0;
  expect(err).toBeInstanceOf(AppError);
  return { err: err as AppError, ms };
};

/** The error as a client would see it, checked for every detail of the SMTP side. */
const expectOpaque = (err: AppError, leaks: string[]) => {
  expect(err.extensions.code).toBe("MAIL_DELIVERY_FAILED");
  expect(err.message).toBe(MAIL.MAIL_DELIVERY_FAILED.message);
  const wire = JSON.stringify({ message: err.message, extensions: err.extensions });
  for (const s of leaks) expect(wire, s).not.toContain(s);
};

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "gqlauth-mail-"));
  smtp = await startSmtpServer();
  authSmtp = await startSmtpServer({ auth: { user: SMTP_USER, pass: SMTP_PASS } });
});
afterAll(async () => {
  await Promise.all([smtp?.close(), authSmtp?.close()]);
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});
afterEach(() => {
  smtp.accept();
  authSmtp.accept();
});

describe("SMTP transport", () => {
  it("delivers From, To, Subject and both a text and an HTML part; links survive the transfer encoding", async () => {
    const cap = captureLog();
    const mailer = createMailer(settings({ smtpUrl: smtp.url, productName: "Ünïcode Auth ✓" }), cap.log);
    expect(mailer.transport).toBe("smtp");
    const to = rcpt();
    await mailer.sendTemplate(confirm, to, { name: "Ada", url: CONFIRM_URL });

    const m = await smtp.waitFor((x) => x.envelope.to.includes(to));
    expect(m.envelope).toEqual({ from: "no-reply@example.test", to: [to] });
    expect(m.from).toMatch(/^"?GraphQL Auth"? <no-reply@example\.test>$/);
    expect(m.to).toBe(to);
    expect(m.subject).toBe("Confirm your email for Ünïcode Auth ✓");
    expect(m.contentTypes).toEqual(["multipart/alternative", "text/plain", "text/html"]);
    expect(m.purpose).toBe("confirm-email");
    expect(m.header("auto-submitted")).toBe("auto-generated");
    // the long link had to be wrapped on the wire, and still arrives whole
    expect(m.raw).not.toContain(CONFIRM_URL);
    expect(linksIn(m)).toEqual([CONFIRM_URL, PUBLIC_URL]);
    expect(m.text).toContain("Hello Ada,\n\nConfirm your address by opening this link:\n" + CONFIRM_URL + "\n");
    expect(m.text).toMatch(/\n-- \nÜnïcode Auth ✓\nhttps:\/\/auth\.example\.test\/\n$/);
    expect(m.html).toContain(`<a href="${CONFIRM_URL}">Confirm my email</a>`);
    expect(m.html).toContain(`Ünïcode Auth ✓ · <a href="${PUBLIC_URL}">${PUBLIC_URL}</a>`);
    expect(m.html).toContain("<title>Confirm your email for Ünïcode Auth ✓</title>");
    for (const line of m.raw.split("\r\n")) expect(line.length).toBeLessThanOrEqual(998);
    // SMTP was picked: nothing written to disk
    await expect(readdir(join(dataDir, "mail"))).rejects.toMatchObject({ code: "ENOENT" });
    expect(cap.lines.some((l) => l.msg === "mail goes out through SMTP")).toBe(true);
  });

  it("authenticates with the credentials in the URL", async () => {
    const mailer = createMailer(settings({ smtpUrl: authSmtp.url }), captureLog().log);
    const to = rcpt();
    await mailer.send({ to, subject: "Hi", text: "Plain text", html: "<p>Plain text</p>", purpose: "notice" });
    const m = await authSmtp.waitFor((x) => x.envelope.to.includes(to));
    expect(m.authUser).toBe(SMTP_USER);
    expect(m.text).toBe("Plain text");
    expect(m.html).toBe("<p>Plain text</p>");
  });

  it("refuses a malformed sender or SMTP URL at start, without echoing the URL", () => {
    const log = captureLog().log;
    const bad = (over: Partial<MailSettings>) => {
      try {
        createMailer(settings(over), log);
      } catch (e) {
        return (e as Error).message;
      }
      return expect.fail("createMailer accepted it");
    };
    for (const smtpUrl of ["http://u:pw-Secret-1@mail.example.test", "not a url pw-Secret-1"]) expect(bad({ smtpUrl })).not.toContain("pw-Secret-1");
    expect(bad({ from: "a@example.test, b@example.test" })).toMatch(/mail\.from/);
    expect(bad({ from: "GraphQL Auth <a@example.test>\r\nBcc: b@example.test" })).toMatch(/mail\.from/);
    expect(bad({ from: "no address" })).toMatch(/mail\.from/);
  });
});

describe("templates", () => {
  const HOSTILE = `<script>alert("x")</script>' onmouseover='alert(1)' "><img src=x onerror=alert(2)> &amp;`;
  const site = { productName: `Evil <b>"Corp"</b> & Co`, publicUrl: PUBLIC_URL };
  const tags = (s: string) => s.match(/<[a-z/!][^>]*>/gi) ?? [];

  it("escapes every interpolated value in the HTML part (body, title, footer) and keeps the markup's shape", async () => {
    const hostile = confirm.render("a@example.test", { name: HOSTILE, url: CONFIRM_URL }, site);
    const benign = confirm.render("a@example.test", { name: "Ada", url: CONFIRM_URL }, { ...site, productName: "Plain" });
    expect(tags(hostile.html)).toEqual(tags(benign.html)); // not one element or attribute more
    expect(hostile.html).not.toContain("<script");
    expect(hostile.html).not.toContain("<img");
    expect(hostile.html).not.toContain("<b>");
    expect(hostile.html).toContain(
      "Hello &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39; onmouseover=&#39;alert(1)&#39; &quot;&gt;&lt;img src=x onerror=alert(2)&gt; &amp;amp;,",
    );
    expect(hostile.html).toContain("<title>Confirm your email for Evil &lt;b&gt;&quot;Corp&quot;&lt;/b&gt; &amp; Co</title>");
    expect(hostile.html).toContain(`Evil &lt;b&gt;&quot;Corp&quot;&lt;/b&gt; &amp; Co · <a href="${PUBLIC_URL}">`);
    // the text part is plain text: the value verbatim, never escaped
    expect(hostile.text).toContain(`Hello ${HOSTILE},`);
    expect(hostile.text).toContain(`\n-- \nEvil <b>"Corp"</b> & Co\n${PUBLIC_URL}\n`);

    // and nothing on the way undoes it
    const mailer = createMailer(settings({ smtpUrl: smtp.url }), captureLog().log);
    const to = rcpt();
    await mailer.send({ ...hostile, to });
    const m = await smtp.waitFor((x) => x.envelope.to.includes(to));
    expect(m.html).toBe(hostile.html);
    expect(m.text).toBe(hostile.text);
  });

  it("text interpolation cannot forge lines; links must be absolute http(s) and are escaped", () => {
    const forged = confirm.render("a@example.test", { name: "Ada\r\n\r\nOpen https://evil.test/now\u2028x", url: CONFIRM_URL }, site);
    expect(forged.text.split("\n")[0]).toBe("Hello Ada Open https://evil.test/now x,");
    for (const bad of ["javascript:alert(1)", "data:text/html,<script>x</script>", "/relative/path", "//evil.test/x", "mailto:a@example.test"]) {
      expect(() => link(bad)).toThrow(/mail link/);
    }
    const a = link(`${PUBLIC_URL}x?a=1&b="2"`, `<Go & "see">`).value;
    expect(a).toBe(`<a href="${PUBLIC_URL}x?a=1&amp;b=%222%22">&lt;Go &amp; &quot;see&quot;&gt;</a>`);
    expect(html`${["<i>", link(PUBLIC_URL, "ok")]}${null}${undefined}${false}`.value).toBe(`&lt;i&gt;<a href="${PUBLIC_URL}">ok</a>`);
  });
});

describe("file transport (development)", () => {
  it("writes a parseable, private .eml under <dataDir>/mail and logs one line with subject, recipient and first link, never the body", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gqlauth-mail-file-"));
    try {
      const cap = captureLog();
      const mailer = createMailer(settings({ dataDir: dir }), cap.log);
      expect(mailer.transport).toBe("file");
      expect(cap.lines.filter((l) => l.level === 40 && String(l.msg).includes("development only"))).toHaveLength(1);

      const to = rcpt();
      const SECOND = `${PUBLIC_URL}second-link-not-logged`;
      const message: MailMessage = {
        to,
        subject: "Reset your password",
        purpose: "reset-password",
        text: `Body marker 7f3a: someone asked to reset your password.\n\n${CONFIRM_URL}.\n\nOr: ${SECOND}\n`,
        html: `<p>Body marker 7f3a</p><p><a href="${CONFIRM_URL}">Reset</a></p>`,
        headers: { "X-Trace": "t-1" },
      };
      const before = cap.raw.length;
      await mailer.send(message);
      await mailer.send({ ...message, subject: "Second" });

      const files = (await readdir(join(dir, "mail"))).sort();
      expect(files).toHaveLength(2);
      for (const f of files) expect(f).toMatch(/^\d{4}-\d\d-\d\dT[\d-]+Z-reset-password-[0-9a-f]{8}\.eml$/);
      expect((await stat(join(dir, "mail"))).mode & 0o777).toBe(0o700);
      const parsed: ReceivedMail[] = [];
      for (const f of files) {
        const path = join(dir, "mail", f);
        expect((await stat(path)).mode & 0o777).toBe(0o600);
        const bytes = await readFile(path);
        expect(bytes.toString("utf8")).not.toMatch(/[^\r]\n/); // RFC 5322 line ends: CRLF only
        parsed.push(parseMessage(bytes));
      }
      expect(parsed.map((p) => p.subject).sort()).toEqual(["Reset your password", "Second"]);
      const first = parsed.find((p) => p.subject === "Reset your password")!;
      expect(first.from).toMatch(/^"?GraphQL Auth"? <no-reply@example\.test>$/);
      expect(first.to).toBe(to);
      expect(first.purpose).toBe("reset-password");
      expect(first.header("x-trace")).toBe("t-1");
      expect(first.header("message-id")).toMatch(/^<.+@.+>$/);
      expect(first.header("date")).toBeTruthy();
      expect(first.contentTypes).toEqual(["multipart/alternative", "text/plain", "text/html"]);
      expect(first.text).toBe(message.text);
      expect(first.html).toBe(message.html);
      expect(linksIn(first)).toEqual([CONFIRM_URL, SECOND]);

      const logged = cap.lines.slice(before);
      expect(logged).toHaveLength(2); // one line per message
      const line = logged.find((l) => l.subject === "Reset your password")!;
      expect(line).toMatchObject({ level: 30, purpose: "reset-password", to, link: CONFIRM_URL });
      expect(files.map((f) => join(dir, "mail", f))).toContain(line.file);
      const loggedText = cap.raw.slice(before).join("\n");
      expect(loggedText).not.toContain("Body marker");
      expect(loggedText).not.toContain(SECOND);
      expect(loggedText).not.toContain("<p>");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("a failing SMTP server", () => {
  const leaksFor = (server: TestSmtpServer) => ["127.0.0.1", String(server.port), SMTP_USER, SMTP_PASS, "Refused by", "smtp"];

  it("refusing with 5xx or 4xx (at connect, RCPT or DATA) → MAIL_DELIVERY_FAILED at once; details only in the log, password nowhere", async () => {
    const cap = captureLog();
    const mailer = createMailer(settings({ smtpUrl: authSmtp.url }), cap.log);
    const received = authSmtp.received.length;
    for (const [code, at] of [[550, "rcpt"], [554, "data"], [451, "data"], [452, "rcpt"], [554, "connect"]] as const) {
      authSmtp.refuse(code, at);
      const before = cap.lines.length;
      const { err, ms } = await failureOf(mailer.send({ to: rcpt(), subject: "S", text: "T", html: "<p>T</p>", purpose: "notice" }));
      expectOpaque(err, [...leaksFor(authSmtp), String(code)]);
      expect(ms, `${code} at ${at}`).toBeLessThan(4_000);
      const warn = cap.lines.slice(before).find((l) => l.msg === "mail delivery failed");
      expect(warn, `${code} at ${at}`).toMatchObject({ level: 40, purpose: "notice", toDomain: "example.test", smtp: `127.0.0.1:${authSmtp.port}` });
      expect(warn!.responseCode, `${code} at ${at}`).toBe(code);
    }
    expect(authSmtp.received).toHaveLength(received);
    expect(cap.text()).not.toContain(SMTP_PASS);
    expect(cap.text()).not.toContain(encodeURIComponent(SMTP_PASS));
  });

  it("rejecting the credentials (535) → MAIL_DELIVERY_FAILED; the wrong password is not logged", async () => {
    const cap = captureLog();
    const wrong = "Wr0ng-pass-9081";
    const mailer = createMailer(settings({ smtpUrl: `smtp://${SMTP_USER}:${wrong}@127.0.0.1:${authSmtp.port}` }), cap.log);
    const { err } = await failureOf(mailer.send({ to: rcpt(), subject: "S", text: "T", html: "<p>T</p>", purpose: "notice" }));
    expectOpaque(err, [...leaksFor(authSmtp), wrong, "535"]);
    expect(cap.lines.find((l) => l.msg === "mail delivery failed")).toMatchObject({ code: "EAUTH", responseCode: 535 });
    expect(cap.text()).not.toContain(wrong);
  });

  it("nothing listening (connection refused) → MAIL_DELIVERY_FAILED at once", async () => {
    const port = await freePort();
    const cap = captureLog();
    const mailer = createMailer(settings({ smtpUrl: `smtp://127.0.0.1:${port}` }), cap.log);
    const { err, ms } = await failureOf(mailer.send({ to: rcpt(), subject: "S", text: "T", html: "<p>T</p>", purpose: "notice" }));
    expectOpaque(err, ["127.0.0.1", String(port), "ECONNREFUSED"]);
    expect(ms).toBeLessThan(4_000);
    expect(cap.lines.find((l) => l.msg === "mail delivery failed")).toMatchObject({ smtp: `127.0.0.1:${port}` });
  });

  it("hanging (no greeting, or no answer to the message) → MAIL_DELIVERY_FAILED after timeoutMs, not the library's minutes", async () => {
    const cap = captureLog();
    const mailer = createMailer(settings({ smtpUrl: smtp.url, timeoutMs: 1_000 }), cap.log);
    for (const at of ["greeting", "data"] as const) {
      smtp.hang(at);
      const before = cap.lines.length;
      const { err, ms } = await failureOf(mailer.send({ to: rcpt(), subject: "S", text: "T", html: "<p>T</p>", purpose: "notice" }));
      expectOpaque(err, leaksFor(smtp));
      expect(ms, at).toBeGreaterThanOrEqual(900); // it really waited for the server…
      expect(ms, at).toBeLessThan(6_000); // …and gave up after about timeoutMs (1 s; the deadline is 3 s)
      expect(cap.lines.slice(before).find((l) => l.msg === "mail delivery failed"), at).toMatchObject({ code: "ETIMEDOUT" });
    }
    expect(smtp.received.filter((m) => m.subject === "S")).toHaveLength(0);
  });
});

describe("header and recipient injection", () => {
  it("CR/LF in the subject or a header value cannot add a header, a recipient or a body", async () => {
    const mailer = createMailer(settings({ smtpUrl: smtp.url }), captureLog().log);
    const to = rcpt();
    await mailer.send({
      to,
      subject: "Hello\r\nBcc: attacker@evil.test\r\nX-Injected: yes\r\n\r\n<b>fake body</b>",
      text: "Real body",
      html: "<p>Real body</p>",
      purpose: "notice",
      headers: { "X-Trace": "t\r\nBcc: attacker2@evil.test\nX-Injected2: yes" },
    });
    const m = await smtp.waitFor((x) => x.envelope.to.includes(to));
    const names = m.headers.map((h) => h.name.toLowerCase());
    for (const n of ["bcc", "cc", "x-injected", "x-injected2"]) expect(names).not.toContain(n);
    expect(names.filter((n) => n === "subject")).toHaveLength(1);
    expect(m.envelope.to).toEqual([to]);
    expect(m.subject).toBe("Hello Bcc: attacker@evil.test X-Injected: yes <b>fake body</b>");
    expect(m.header("x-trace")).toBe("t Bcc: attacker2@evil.test X-Injected2: yes");
    expect(m.text).toBe("Real body");
    expect(m.html).toBe("<p>Real body</p>");
    expect(smtp.received.filter((x) => x.envelope.to.some((r) => r.includes("evil.test")))).toHaveLength(0);
  });

  it("a recipient with CR/LF, a second address or a display name, and structural or malformed header names, are refused before any connection", async () => {
    const cap = captureLog();
    const mailer = createMailer(settings({ smtpUrl: smtp.url }), cap.log);
    const ok = rcpt();
    const base = { subject: "S", text: "T", html: "<p>T</p>", purpose: "notice" };
    const attempts: MailMessage[] = [
      ...[
        `${ok}\r\nBcc: attacker@evil.test`,
        `${ok}\nX-Injected: yes`,
        `${ok}\rBcc: attacker@evil.test`,
        `${ok}, attacker@evil.test`,
        `${ok};attacker@evil.test`,
        `Victim <${ok}>`,
        `${ok}>\r\nRCPT TO:<attacker@evil.test`,
        `"attacker@evil.test"@example.test`,
        "",
      ].map((to) => ({ ...base, to })),
      { ...base, to: ok, headers: { Bcc: "attacker@evil.test" } },
      { ...base, to: ok, headers: { "X-Ok\r\nBcc": "attacker@evil.test" } },
      { ...base, to: ok, headers: { "X-Mail-Purpose": "other" } },
      { ...base, to: ok, purpose: "Notice\r\nBcc: attacker@evil.test" },
    ];
    const connections = smtp.connections;
    const received = smtp.received.length;
    for (const a of attempts) expectOpaque((await failureOf(mailer.send(a))).err, ["evil.test"]);
    expect(smtp.connections).toBe(connections); // nothing reached the server
    expect(cap.lines.filter((l) => l.msg === "mail refused before sending")).toHaveLength(attempts.length);

    // the same mailer still delivers a proper message, and only that one arrived
    await mailer.send({ ...base, to: ok });
    const m = await smtp.waitFor((x) => x.envelope.to.includes(ok));
    expect(smtp.received.slice(received)).toEqual([m]);
    expect(m.envelope.to).toEqual([ok]);
  });

  it("a lone dot in the body cannot end the message early and smuggle a second one (dot-stuffing)", async () => {
    const mailer = createMailer(settings({ smtpUrl: smtp.url }), captureLog().log);
    const to = rcpt();
    const smuggled = "MAIL FROM:<x@evil.test>\r\nRCPT TO:<attacker@evil.test>\r\nDATA\r\nSubject: smuggled\r\n\r\nhi\r\n.\r\n";
    const body = `before\r\n.\r\n${smuggled}\n.\n${smuggled}after`;
    const start = smtp.received.length;
    await mailer.send({ to, subject: "Dots", text: body, html: `<pre>\r\n.\r\n</pre>`, purpose: "notice" });
    const m = await smtp.waitFor((x) => x.envelope.to.includes(to));
    expect(m.text).toBe(body.replace(/\r\n/g, "\n"));
    expect(m.text.endsWith("after")).toBe(true);
    // one more delivery after it: had anything been smuggled it would have arrived before this one
    const next = rcpt();
    await mailer.send({ to: next, subject: "After", text: "x", html: "<p>x</p>", purpose: "notice" });
    await smtp.waitFor((x) => x.envelope.to.includes(next));
    expect(smtp.received.slice(start).map((x) => x.subject)).toEqual(["Dots", "After"]);
  });
});
