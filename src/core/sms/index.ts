// The SMS port: `createSmsSender` picks the provider from config. "file" (development) writes each
// message under <dataDir>/sms and logs it; "twilio" posts to Twilio's Messages API (or any server
// speaking it at sms.apiBaseUrl: the tests run one). A failed delivery is SMS_DELIVERY_FAILED
// (Flask-Security: FAILED_TO_SEND_CODE) and the caller keeps no half state.
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { AppError, defineErrors } from "../errors.js";
import type { Logger } from "../logger.js";

export const SMS = defineErrors({
  SMS_DELIVERY_FAILED: "The text message could not be sent. Try again later or choose another method.",
});

export interface SmsMessage {
  /** E.164. */
  to: string;
  body: string;
  /** What it is for, for logs ("2fa-code", …). */
  purpose: string;
}

export interface SmsSender {
  readonly provider: "file" | "twilio";
  send(message: SmsMessage): Promise<void>;
}

export interface SmsSettings {
  provider: "file" | "twilio";
  from?: string | undefined;
  twilioAccountSid?: string | undefined;
  twilioAuthToken?: string | undefined;
  apiBaseUrl: string;
  timeoutMs: number;
  dataDir: string;
}

const failed = (): AppError => new AppError(SMS.SMS_DELIVERY_FAILED);

class FileSmsSender implements SmsSender {
  readonly provider = "file" as const;
  private readonly dir: string;
  constructor(dataDir: string, private readonly log: Logger) {
    this.dir = resolve(dataDir, "sms");
  }

  async send(m: SmsMessage): Promise<void> {
    try {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      const file = join(this.dir, `${new Date().toISOString().replace(/[:.]/g, "-")}-${m.purpose}-${randomBytes(4).toString("hex")}.txt`);
      await writeFile(file, `To: ${m.to}\n\n${m.body}\n`, { mode: 0o600, flag: "wx" });
      // Development only: the code is in the log line so a developer can use it.
      this.log.info({ purpose: m.purpose, to: m.to, body: m.body, file }, "sms written (development sender)");
    } catch (err) {
      this.log.error({ purpose: m.purpose, reason: String((err as Error).message).slice(0, 300) }, "sms could not be written");
      throw failed();
    }
  }
}

class TwilioSmsSender implements SmsSender {
  readonly provider = "twilio" as const;
  constructor(private readonly s: SmsSettings, private readonly log: Logger) {
    if (!s.twilioAccountSid || !s.twilioAuthToken || !s.from) throw new Error("sms.provider twilio needs sms.twilioAccountSid, sms.twilioAuthToken and sms.from");
    if (!/^https?:\/\//.test(s.apiBaseUrl)) throw new Error("sms.apiBaseUrl must be an http(s) URL");
  }

  async send(m: SmsMessage): Promise<void> {
    const sid = encodeURIComponent(this.s.twilioAccountSid!);
    const url = `${this.s.apiBaseUrl.replace(/\/+$/, "")}/2010-04-01/Accounts/${sid}/Messages.json`;
    const auth = Buffer.from(`${this.s.twilioAccountSid}:${this.s.twilioAuthToken}`).toString("base64");
    try {
      const res = await fetch(url, {
        method: "POST",
        headers: { authorization: `Basic ${auth}`, "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ To: m.to, From: this.s.from!, Body: m.body }).toString(),
        signal: AbortSignal.timeout(this.s.timeoutMs),
        redirect: "error",
      });
      if (res.status < 200 || res.status >= 300) throw new Error(`provider answered HTTP ${res.status}`);
      await res.body?.cancel();
    } catch (err) {
      // Never the body (it holds the code) nor the credentials.
      this.log.warn({ purpose: m.purpose, reason: String((err as Error).message).slice(0, 200) }, "sms not sent");
      throw failed();
    }
  }
}

export function createSmsSender(settings: SmsSettings, log: Logger): SmsSender {
  const smsLog = log.child({ component: "sms" });
  if (settings.provider === "twilio") return new TwilioSmsSender(settings, smsLog);
  smsLog.warn({ dir: resolve(settings.dataDir, "sms") }, "no SMS provider configured (sms.provider): messages are written to files and logged; development only");
  return new FileSmsSender(settings.dataDir, smsLog);
}
