// Production transport: one SMTP connection per message through nodemailer. Short timeouts on
// every step, plus a deadline for the whole delivery, so a dead or stalled server costs the caller
// a few seconds, never a hung request. Failures are logged with the SMTP details (credentials
// scrubbed) and reach the caller as MAIL_DELIVERY_FAILED.
import { createTransport, type Mail, type NodemailerError, type SMTPSentMessageInfo, type SMTPTransportOptions } from "nodemailer";
import type { Logger } from "../logger.js";
import { deliveryFailed, InvalidMailMessage, toNodemailer, type MailMessage, type Mailer } from "./mailer.js";

export interface SmtpMailerOptions {
  smtpUrl: string;
  from: string;
  timeoutMs: number;
}

/** Whole-delivery deadline as a multiple of the per-step timeout. */
const DEADLINE_FACTOR = 3;

export class SmtpMailer implements Mailer {
  private readonly transport: Mail<SMTPSentMessageInfo, SMTPTransportOptions>;
  private readonly secrets: string[];
  private readonly endpoint: string;

  constructor(
    private readonly opts: SmtpMailerOptions,
    private readonly log: Logger,
  ) {
    let url: URL;
    try {
      url = new URL(opts.smtpUrl);
    } catch {
      throw new Error("mail.smtpUrl is not a URL (expected smtp://user:pass@host:587 or smtps://user:pass@host:465)");
    }
    if (url.protocol !== "smtp:" && url.protocol !== "smtps:") throw new Error("mail.smtpUrl must start with smtp:// or smtps://");
    this.endpoint = `${url.hostname}:${url.port || (url.protocol === "smtps:" ? 465 : 587)}`;
    // Whatever might carry the password is scrubbed from logged text, raw and decoded.
    this.secrets = [url.password, safeDecode(url.password)].filter((s) => s.length >= 3);
    const t = opts.timeoutMs;
    this.transport = createTransport({
      url: opts.smtpUrl,
      connectionTimeout: t,
      greetingTimeout: t,
      socketTimeout: t,
      dnsTimeout: t,
      disableFileAccess: true,
      disableUrlAccess: true,
      logger: false,
      debug: false,
    });
  }

  describe(): Record<string, unknown> {
    return { transport: "smtp", endpoint: this.endpoint, timeoutMs: this.opts.timeoutMs };
  }

  async send(message: MailMessage): Promise<void> {
    let options;
    try {
      options = toNodemailer(message, this.opts.from);
    } catch (err) {
      if (!(err instanceof InvalidMailMessage)) throw err;
      this.log.error({ purpose: String(message.purpose).slice(0, 64), reason: err.message }, "mail refused before sending");
      throw deliveryFailed();
    }
    const started = Date.now();
    try {
      const info = await this.transport.sendMail({ ...options, signal: AbortSignal.timeout(this.opts.timeoutMs * DEADLINE_FACTOR) });
      if (info.rejected.length > 0 || info.accepted.length === 0) throw Object.assign(new Error("recipient rejected"), { response: info.response });
      this.log.debug({ purpose: message.purpose, messageId: info.messageId, ms: Date.now() - started }, "mail sent");
    } catch (err) {
      const e = err as NodemailerError;
      this.log.warn(
        {
          purpose: message.purpose,
          toDomain: message.to.slice(message.to.lastIndexOf("@") + 1),
          smtp: this.endpoint,
          ms: Date.now() - started,
          code: e.code,
          responseCode: e.responseCode,
          command: e.command,
          permanent: e.permanent,
          timeoutType: e.timeoutType,
          response: e.response === undefined ? undefined : this.scrub(String(e.response)).slice(0, 300),
          error: this.scrub(String(e.message)).slice(0, 300),
        },
        "mail delivery failed",
      );
      throw deliveryFailed();
    }
  }

  close(): void {
    this.transport.close();
  }

  private scrub(s: string): string {
    for (const secret of this.secrets) s = s.split(secret).join("***");
    return s;
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
