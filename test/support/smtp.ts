// A real SMTP server inside the test process (smtp-server over TCP on 127.0.0.1), keeping what it
// receives. Tests point the mailer at `smtp.url` and read the actual messages: envelope, headers,
// text and HTML parts (transfer encodings and RFC 2047 words decoded by the minimal MIME reader
// below; mailparser is not installed). It can be told to refuse (4xx/5xx at a chosen step) or to
// hang (no greeting, or no reply to the message) to exercise the failure paths.
import { EventEmitter } from "node:events";
import type { Socket } from "node:net";
import { SMTPServer, type SMTPServerSession } from "smtp-server";

export interface MailHeader {
  name: string;
  /** Unfolded, still encoded as on the wire. */
  value: string;
}

export interface ReceivedMail {
  /** Order of arrival in this server, from 1. */
  seq: number;
  envelope: { from: string; to: string[] };
  /** The AUTH user of the session, if it authenticated. */
  authUser: string | undefined;
  raw: string;
  /** The top-level header fields in order. */
  headers: MailHeader[];
  /** First top-level header of that name, RFC 2047 words decoded. */
  header(name: string): string | undefined;
  from: string;
  to: string;
  subject: string;
  /** Decoded text/plain part ("" if none). */
  text: string;
  /** Decoded text/html part ("" if none). */
  html: string;
  /** The Content-Type of every node of the MIME tree, depth first ("multipart/alternative", "text/plain", …). */
  contentTypes: string[];
  /** X-Mail-Purpose. */
  purpose: string | undefined;
}

export type RefuseAt = "connect" | "mail" | "rcpt" | "data";
type Behaviour = { kind: "accept" } | { kind: "refuse"; code: number; at: RefuseAt; message: string } | { kind: "hang"; at: "greeting" | "data" };

export interface TestSmtpServer {
  port: number;
  /** smtp://[user:pass@]127.0.0.1:port */
  url: string;
  received: ReceivedMail[];
  /** TCP connections accepted so far. */
  readonly connections: number;
  /** Resolves with the first message, received before or after the call, that matches. */
  waitFor(predicate?: (m: ReceivedMail) => boolean, timeoutMs?: number): Promise<ReceivedMail>;
  linksIn(m: ReceivedMail): string[];
  /** Every following transaction is refused with `code` (4xx or 5xx) at the given step. */
  refuse(code: number, at?: RefuseAt, message?: string): void;
  /** "greeting": accept TCP, never greet. "data": take the message, never answer it. */
  hang(at: "greeting" | "data"): void;
  /** Back to accepting everything. */
  accept(): void;
  clear(): void;
  close(): Promise<void>;
}

export interface SmtpServerOptions {
  /** Require AUTH (PLAIN/LOGIN over plain TCP) with these credentials; the URL then carries them. */
  auth?: { user: string; pass: string };
}

const errorWithCode = (code: number, message: string): Error => Object.assign(new Error(message), { responseCode: code });

export async function startSmtpServer(opts: SmtpServerOptions = {}): Promise<TestSmtpServer> {
  const received: ReceivedMail[] = [];
  const events = new EventEmitter();
  const sockets = new Set<Socket>();
  let behaviour: Behaviour = { kind: "accept" };
  let connections = 0;

  const refusal = (at: RefuseAt): Error | null =>
    behaviour.kind === "refuse" && behaviour.at === at ? errorWithCode(behaviour.code, behaviour.message) : null;

  const server = new SMTPServer({
    logger: false,
    secure: false,
    hideSTARTTLS: true,
    disabledCommands: opts.auth ? ["STARTTLS"] : ["STARTTLS", "AUTH"],
    authOptional: !opts.auth,
    allowInsecureAuth: true,
    size: 10 * 1024 * 1024,
    closeTimeout: 200,
    onAuth(auth, _session, cb) {
      if (opts.auth && auth.username === opts.auth.user && auth.password === opts.auth.pass) return cb(null, { user: auth.username });
      cb(errorWithCode(535, "Authentication credentials invalid"));
    },
    onConnect(_session, cb) {
      if (behaviour.kind === "hang" && behaviour.at === "greeting") return; // never greets
      cb(refusal("connect"));
    },
    onMailFrom(_address, _session, cb) {
      cb(refusal("mail"));
    },
    onRcptTo(_address, _session, cb) {
      cb(refusal("rcpt"));
    },
    onData(stream, session: SMTPServerSession, cb) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        if (behaviour.kind === "hang" && behaviour.at === "data") return; // never answers
        const refused = refusal("data");
        if (refused) return cb(refused);
        if (stream.sizeExceeded) return cb(errorWithCode(552, "Message too big"));
        const mailFrom = session.envelope.mailFrom;
        const mail = parseMessage(Buffer.concat(chunks), {
          seq: received.length + 1,
          envelope: { from: mailFrom ? mailFrom.address : "", to: session.envelope.rcptTo.map((r) => r.address) },
          authUser: typeof session.user === "string" ? session.user : undefined,
        });
        received.push(mail);
        events.emit("mail", mail);
        cb(null, `Queued as test-${mail.seq}`);
      });
    },
  });
  server.server.on("connection", (socket: Socket) => {
    connections++;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });

  const port = await new Promise<number>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve((server.server.address() as { port: number }).port);
    });
  });
  server.on("error", () => {}); // a client vanishing mid-session must not crash the test run
  const creds = opts.auth ? `${encodeURIComponent(opts.auth.user)}:${encodeURIComponent(opts.auth.pass)}@` : "";

  return {
    port,
    url: `smtp://${creds}127.0.0.1:${port}`,
    received,
    get connections() {
      return connections;
    },
    waitFor(predicate = () => true, timeoutMs = 5_000) {
      const already = received.find(predicate);
      if (already) return Promise.resolve(already);
      return new Promise((resolve, reject) => {
        const onMail = (m: ReceivedMail) => {
          if (!predicate(m)) return;
          cleanup();
          resolve(m);
        };
        const timer = setTimeout(() => {
          cleanup();
          const seen = received.map((m) => `#${m.seq} to=${m.envelope.to.join(",")} subject=${JSON.stringify(m.subject)}`).join("; ") || "nothing";
          reject(new Error(`no matching mail within ${timeoutMs} ms; received: ${seen}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          events.off("mail", onMail);
        };
        events.on("mail", onMail);
      });
    },
    linksIn,
    refuse(code, at = "data", message = "Refused by the test server") {
      if (code < 400 || code > 599) throw new Error("refuse() takes a 4xx or 5xx code");
      behaviour = { kind: "refuse", code, at, message };
    },
    hang(at) {
      behaviour = { kind: "hang", at };
    },
    accept() {
      behaviour = { kind: "accept" };
    },
    clear() {
      received.length = 0;
    },
    close() {
      return new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy(); // hung sessions included
        server.close(() => resolve());
      });
    },
  };
}

/** Every http(s) link in the text part, in order, without trailing punctuation, each once. */
export function linksIn(m: Pick<ReceivedMail, "text">): string[] {
  const links = (m.text.match(/https?:\/\/[^\s<>"']+/gi) ?? []).map((l) => l.replace(/[.,;:!?)\]]+$/, ""));
  return [...new Set(links)];
}

// ---- a minimal MIME reader: enough for what our mailer produces (RFC 5322 + 2045–2047) ----

interface MimeNode {
  headers: MailHeader[];
  /** Body bytes as a latin1 string (one char per byte). */
  body: string;
}

/** Parses a whole message (as received, or an .eml file). */
export function parseMessage(
  raw: Buffer | string,
  meta: { seq: number; envelope: { from: string; to: string[] }; authUser?: string | undefined } = { seq: 0, envelope: { from: "", to: [] } },
): ReceivedMail {
  const bytes = typeof raw === "string" ? Buffer.from(raw, "utf8") : raw;
  const root = splitNode(bytes.toString("latin1"));
  const contentTypes: string[] = [];
  let text = "";
  let html = "";
  const walk = (node: MimeNode) => {
    const ct = headerOf(node.headers, "content-type") ?? "text/plain";
    const type = ct.split(";")[0]!.trim().toLowerCase();
    contentTypes.push(type);
    if (type.startsWith("multipart/")) {
      const boundary = paramOf(ct, "boundary");
      if (!boundary) throw new Error("multipart without boundary");
      for (const part of splitMultipart(node.body, boundary)) walk(splitNode(part));
      return;
    }
    const decoded = decodeBody(node.body, headerOf(node.headers, "content-transfer-encoding") ?? "7bit", paramOf(ct, "charset") ?? "utf-8");
    if (type === "text/plain" && !text) text = decoded;
    else if (type === "text/html" && !html) html = decoded;
  };
  walk(root);
  const header = (name: string): string | undefined => {
    const v = headerOf(root.headers, name);
    return v === undefined ? undefined : decodeWords(v);
  };
  return {
    seq: meta.seq,
    envelope: meta.envelope,
    authUser: meta.authUser,
    raw: bytes.toString("utf8"),
    headers: root.headers.map((h) => ({ name: h.name, value: Buffer.from(h.value, "latin1").toString("utf8") })),
    header,
    from: header("from") ?? "",
    to: header("to") ?? "",
    subject: header("subject") ?? "",
    text,
    html,
    contentTypes,
    purpose: header("x-mail-purpose"),
  };
}

function splitNode(s: string): MimeNode {
  const m = /\r?\n\r?\n/.exec(s);
  const head = m ? s.slice(0, m.index) : s;
  const body = m ? s.slice(m.index + m[0].length) : "";
  const headers: MailHeader[] = [];
  for (const line of head.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && headers.length) headers[headers.length - 1]!.value += line; // unfold: drop the CRLF only
    else if (line) {
      const i = line.indexOf(":");
      if (i <= 0) throw new Error(`not a header line: ${JSON.stringify(line.slice(0, 80))}`);
      headers.push({ name: line.slice(0, i), value: line.slice(i + 1).trim() });
    }
  }
  return { headers, body };
}

const headerOf = (headers: MailHeader[], name: string): string | undefined => headers.find((h) => h.name.toLowerCase() === name.toLowerCase())?.value;

function paramOf(value: string, name: string): string | undefined {
  const re = new RegExp(`;\\s*${name}\\s*=\\s*(?:"([^"]*)"|([^;\\s]+))`, "i");
  const m = re.exec(value);
  return m ? (m[1] ?? m[2]) : undefined;
}

function splitMultipart(body: string, boundary: string): string[] {
  const parts: string[] = [];
  let current: string[] | null = null;
  for (const line of body.split(/\r?\n/)) {
    const t = line.trimEnd();
    if (t === `--${boundary}--`) {
      if (current) parts.push(current.join("\r\n"));
      return parts;
    }
    if (t === `--${boundary}`) {
      if (current) parts.push(current.join("\r\n"));
      current = [];
    } else current?.push(line);
  }
  throw new Error("multipart without closing delimiter");
}

function decodeBody(body: string, cte: string, charset: string): string {
  const enc = cte.trim().toLowerCase();
  let bytes: Buffer;
  if (enc === "base64") bytes = Buffer.from(body.replace(/[^A-Za-z0-9+/=]/g, ""), "base64");
  else if (enc === "quoted-printable") bytes = qpBytes(body.replace(/=\r?\n/g, ""), false);
  else bytes = Buffer.from(body, "latin1");
  return decodeCharset(bytes, charset).replace(/\r\n/g, "\n");
}

function qpBytes(s: string, underscoreIsSpace: boolean): Buffer {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === "=" && /^[0-9A-Fa-f]{2}$/.test(s.slice(i + 1, i + 3))) {
      out.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c === "_" && underscoreIsSpace) out.push(0x20);
    else out.push(s.charCodeAt(i) & 0xff);
  }
  return Buffer.from(out);
}

function decodeCharset(bytes: Buffer, charset: string): string {
  const cs = charset.trim().toLowerCase();
  if (cs === "utf-8" || cs === "utf8" || cs === "us-ascii" || cs === "ascii") return bytes.toString("utf8");
  if (cs === "iso-8859-1" || cs === "latin1") return bytes.toString("latin1");
  return new TextDecoder(cs).decode(bytes);
}

/** RFC 2047: =?charset?Q|B?text?= words decoded; adjacent words (only whitespace between) joined before decoding. */
function decodeWords(value: string): string {
  const s = Buffer.from(value, "latin1").toString("utf8");
  let out = "";
  let last = 0;
  let run: { charset: string; bytes: Buffer[] } | null = null;
  const flush = () => {
    if (run) out += decodeCharset(Buffer.concat(run.bytes), run.charset);
    run = null;
  };
  for (const m of s.matchAll(/=\?([^?*]+)(?:\*[^?]*)?\?([QqBb])\?([^?]*)\?=/g)) {
    const between = s.slice(last, m.index);
    const charset = m[1]!.toLowerCase();
    const bytes = m[2]!.toUpperCase() === "B" ? Buffer.from(m[3]!, "base64") : qpBytes(m[3]!, true);
    if (run && run.charset === charset && /^\s*$/.test(between)) run.bytes.push(bytes);
    else {
      flush();
      out += between;
      run = { charset, bytes: [bytes] };
    }
    last = m.index + m[0].length;
  }
  flush();
  return out + s.slice(last);
}
