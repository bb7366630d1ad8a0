// Development transport: each message becomes an RFC 5322 .eml file (CRLF line ends, built by
// nodemailer exactly as the SMTP transport would build it) under <dataDir>/mail/, and one log
// line names it with its subject, recipient and first link. The files and the logged link carry
// live tokens, so the directory is private to the user and this transport is for development.
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { createTransport, type Mail, type StreamSentMessageInfo, type StreamTransportOptions } from "nodemailer";
import type { Logger } from "../logger.js";
import { deliveryFailed, firstLink, InvalidMailMessage, toNodemailer, type MailMessage, type Mailer } from "./mailer.js";

export interface FileMailerOptions {
  from: string;
  dataDir: string;
}

export class FileMailer implements Mailer {
  readonly dir: string;
  private readonly transport: Mail<StreamSentMessageInfo, StreamTransportOptions>;

  constructor(
    private readonly opts: FileMailerOptions,
    private readonly log: Logger,
  ) {
    this.dir = resolve(opts.dataDir, "mail");
    this.transport = createTransport({ streamTransport: true, buffer: true, newline: "windows", disableFileAccess: true, disableUrlAccess: true });
  }

  describe(): Record<string, unknown> {
    return { transport: "file", dir: this.dir };
  }

  async send(message: MailMessage): Promise<void> {
    let file = "";
    try {
      const info = await this.transport.sendMail(toNodemailer(message, this.opts.from));
      if (!Buffer.isBuffer(info.message)) throw new Error("stream transport did not buffer the message");
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      const stamp = new Date().toISOString().replace(/[:.]/g, "-");
      file = join(this.dir, `${stamp}-${message.purpose}-${randomBytes(4).toString("hex")}.eml`);
      await writeFile(file, info.message, { mode: 0o600, flag: "wx" });
    } catch (err) {
      const reason = err instanceof InvalidMailMessage ? err.message : String((err as Error).message ?? err).slice(0, 300);
      this.log.error({ purpose: String(message.purpose).slice(0, 64), dir: this.dir, reason }, "mail could not be written");
      throw deliveryFailed();
    }
    // Subject, recipient and link only: the body never goes to the log.
    this.log.info({ purpose: message.purpose, to: message.to, subject: message.subject.replace(/[\x00-\x1f\x7f]+/g, " "), link: firstLink(message.text), file }, "mail written (development mailer)");
  }

  close(): void {
    this.transport.close();
  }
}
