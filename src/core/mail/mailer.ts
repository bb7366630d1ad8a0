// The mail port. Features hand a rendered MailMessage to `Mailer.send`; which transport carries it
// (SMTP in production, .eml files in development) is decided once in createMailer. Every failure
// of a transport reaches the caller as one code, MAIL_DELIVERY_FAILED, with a fixed message: the
// SMTP reply, host and credentials only ever go to the log.
import type { SendMailOptions } from "nodemailer";
import addressparser from "nodemailer/lib/addressparser";
import { AppError, defineErrors } from "../errors.js";

export const MAIL = defineErrors({
  MAIL_DELIVERY_FAILED: "The message could not be sent. Try again later.",
});

export interface MailMessage {
  /** One bare address (`user@example.com`): no display name, no list. */
  to: string;
  subject: string;
  text: string;
  html: string;
  /** What the message is for, lower-kebab (`confirm-email`, `reset-password`); sent as X-Mail-Purpose. */
  purpose: string;
  /** Extra headers (`List-Unsubscribe`, `X-…`); the structural ones (From, To, Subject, …) are refused. */
  headers?: Record<string, string>;
}

export interface Mailer {
  /** Resolves once the transport accepted the message; rejects with AppError(MAIL.MAIL_DELIVERY_FAILED). */
  send(message: MailMessage): Promise<void>;
}

export const PURPOSE_HEADER = "X-Mail-Purpose";

export const deliveryFailed = (): AppError => new AppError(MAIL.MAIL_DELIVERY_FAILED);

/** Thrown before anything is sent when a message is malformed (a bug or hostile input in the caller). */
export class InvalidMailMessage extends Error {}

// A single addr-spec: no whitespace or control characters (so no CR/LF), no display name, no
// second address, no comments or quoting. Stricter than RFC 5321 on purpose: the identity rules
// accept far less, and anything looser here could turn one recipient into several.
const ADDRESS = /^[^\s@<>()[\]\\,;:"\x00-\x1f\x7f]{1,64}@[^\s@<>()[\]\\,;:"\x00-\x1f\x7f]{1,255}$/u;
const PURPOSE = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const HEADER_NAME = /^[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*$/;
const RESERVED_HEADERS = new Set([
  "from", "sender", "to", "cc", "bcc", "reply-to", "subject", "date", "message-id", "in-reply-to", "references",
  "mime-version", "content-type", "content-transfer-encoding", "content-disposition", "content-id",
  "return-path", "received", "dkim-signature", "auto-submitted", PURPOSE_HEADER.toLowerCase(),
]);
// Control characters other than TAB become spaces in a header value (nodemailer also folds CR/LF
// into spaces; doing it here as well keeps the guarantee independent of the library).
const flattenHeader = (s: string): string => s.replace(/[\x00-\x08\x0a-\x1f\x7f\u2028\u2029]+/g, " ").trim();

export const isMailAddress = (s: string): boolean => ADDRESS.test(s) && s.length <= 320;

/** Checks a message and turns it into nodemailer's options (shared by every transport). */
export function toNodemailer(message: MailMessage, from: string): SendMailOptions {
  if (typeof message.to !== "string" || !isMailAddress(message.to)) throw new InvalidMailMessage("recipient is not one bare address");
  if (!PURPOSE.test(message.purpose) || message.purpose.length > 64) throw new InvalidMailMessage("purpose must be lower-kebab-case");
  const headers: Record<string, string> = { "Auto-Submitted": "auto-generated", [PURPOSE_HEADER]: message.purpose };
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    if (!HEADER_NAME.test(name) || RESERVED_HEADERS.has(name.toLowerCase())) throw new InvalidMailMessage(`header ${JSON.stringify(name.slice(0, 40))} is not allowed`);
    headers[name] = flattenHeader(String(value));
  }
  return {
    from,
    to: message.to,
    subject: flattenHeader(message.subject),
    text: message.text,
    html: message.html,
    headers,
    // Messages are built from our own strings only: never let a value be read as a path or URL.
    disableFileAccess: true,
    disableUrlAccess: true,
  };
}

/** The first http(s) link in a text, without trailing punctuation. */
export function firstLink(text: string): string | undefined {
  const m = /https?:\/\/[^\s<>"']+/i.exec(text);
  return m?.[0].replace(/[.,;:!?)\]]+$/, "");
}

/** What createMailer needs, independent of the config's shape. */
export interface MailSettings {
  /** smtp://user:pass@host:587 (STARTTLS when offered) or smtps://…:465; unset: the file mailer. */
  smtpUrl?: string | undefined;
  /** The From of every message, e.g. `GraphQL Auth <no-reply@example.com>`. */
  from: string;
  /** Limit for each SMTP step (connect, greeting, every reply); a whole delivery gets 3× this. */
  timeoutMs: number;
  /** The file mailer writes under `<dataDir>/mail/`. */
  dataDir: string;
  productName: string;
  publicUrl: string;
}

/** Checks the configured sender once, at start: one mailbox, nothing that could become a header. */
export function checkSender(from: string): void {
  const parsed = /[\x00-\x1f\x7f]/.test(from) ? [] : addressparser(from, { flatten: true });
  if (parsed.length !== 1 || !isMailAddress(parsed[0]!.address)) {
    throw new Error("mail.from must be one address, e.g. \"GraphQL Auth <no-reply@example.com>\"");
  }
}
