// A Twilio-compatible Messages API in the test process: the server's real HTTP SMS adapter posts
// to it, and tests read the messages (and can make it fail).
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface ReceivedSms {
  to: string;
  from: string;
  body: string;
  accountSid: string;
  authorization: string;
}

export interface TestSmsServer {
  url: string;
  received: ReceivedSms[];
  /** Answer every request with this HTTP status (e.g. 500) until set back to 201. */
  status: number;
  waitFor(pred: (m: ReceivedSms) => boolean, timeoutMs?: number): Promise<ReceivedSms>;
  close(): Promise<void>;
}

export const SMS_ACCOUNT = { twilioAccountSid: "AC0123456789abcdef", twilioAuthToken: "test-auth-token-0123456789", from: "+15005550006" };

export async function startSmsServer(): Promise<TestSmsServer> {
  const received: ReceivedSms[] = [];
  const waiters: Array<() => void> = [];
  const state = { status: 201 };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const m = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/.exec(req.url ?? "");
      if (req.method !== "POST" || !m) {
        res.writeHead(404).end();
        return;
      }
      if (state.status !== 201) {
        res.writeHead(state.status, { "content-type": "application/json" }).end('{"message":"test failure"}');
        return;
      }
      const form = new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
      received.push({ to: form.get("To") ?? "", from: form.get("From") ?? "", body: form.get("Body") ?? "", accountSid: decodeURIComponent(m[1]!), authorization: String(req.headers.authorization ?? "") });
      res.writeHead(201, { "content-type": "application/json" }).end('{"sid":"SM0","status":"queued"}');
      waiters.splice(0).forEach((w) => w());
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    get status() {
      return state.status;
    },
    set status(v: number) {
      state.status = v;
    },
    async waitFor(pred, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const hit = received.find(pred);
        if (hit) return hit;
        if (Date.now() > deadline) throw new Error("no matching SMS arrived");
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 100);
        });
      }
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** The first run of `digits` digits in an SMS body. */
export const smsCode = (m: ReceivedSms, digits = 6): string => {
  const hit = new RegExp(`\\b[0-9]{${digits}}\\b`).exec(m.body);
  if (!hit) throw new Error(`no code in: ${m.body}`);
  return hit[0];
};
