// The mail service of the kernel: createMailer picks the transport (SMTP when an URL is configured,
// else the development file mailer) and binds templates to this deployment's name and URL.
import { afterResponse } from "../after-response.js";
import type { Logger } from "../logger.js";
import { FileMailer } from "./file-mailer.js";
import { checkSender, type MailMessage, type Mailer, type MailSettings } from "./mailer.js";
import { SmtpMailer } from "./smtp-mailer.js";
import { checkUrl, type MailTemplate, type SiteInfo } from "./templates.js";

export { MAIL, PURPOSE_HEADER, firstLink, isMailAddress, type MailMessage, type Mailer, type MailSettings } from "./mailer.js";
export { SafeHtml, checkUrl, defineTemplate, escapeHtml, html, link, text, type MailTemplate, type SiteInfo, type TemplateParts } from "./templates.js";
export { FileMailer } from "./file-mailer.js";
export { SmtpMailer } from "./smtp-mailer.js";

export interface MailService extends Mailer {
  /** Product name and public URL every template is rendered with. */
  readonly site: SiteInfo;
  /** "smtp" or "file". */
  readonly transport: "smtp" | "file";
  /** Renders `template` for this deployment and sends it to `to`. */
  sendTemplate<P>(template: MailTemplate<P>, to: string, params: P): Promise<void>;
  /**
   * Sends after the caller has answered: generic answers must not depend on delivery (nor take
   * its time). A failure is logged with the purpose and the user id, never the address.
   */
  sendLater<P>(template: MailTemplate<P>, to: { _id: unknown; email: string }, params: P): void;
  close(): void;
}

/** Throws at start on a malformed sender or SMTP URL (without echoing the URL: it may hold a password). */
export function createMailer(settings: MailSettings, log: Logger): MailService {
  checkSender(settings.from);
  checkUrl(settings.publicUrl);
  const site: SiteInfo = { productName: settings.productName, publicUrl: settings.publicUrl };
  const mailLog = log.child({ component: "mail" });
  const impl = settings.smtpUrl
    ? new SmtpMailer({ smtpUrl: settings.smtpUrl, from: settings.from, timeoutMs: settings.timeoutMs }, mailLog)
    : new FileMailer({ from: settings.from, dataDir: settings.dataDir }, mailLog);
  if (impl instanceof FileMailer) mailLog.warn(impl.describe(), "no SMTP server configured (mail.smtpUrl): messages are written as .eml files and their links logged; development only");
  else mailLog.info(impl.describe(), "mail goes out through SMTP");
  const sendTemplate = <P>(template: MailTemplate<P>, to: string, params: P) => impl.send(template.render(to, params, site));
  return {
    site,
    transport: impl instanceof FileMailer ? "file" : "smtp",
    send: (message: MailMessage) => impl.send(message),
    sendTemplate,
    sendLater: (template, to, params) =>
      afterResponse(() => {
        void Promise.resolve()
          .then(() => sendTemplate(template, to.email, params))
          .catch((err: unknown) => {
            const e = err as { extensions?: { code?: unknown }; message?: string };
            mailLog.warn({ purpose: template.purpose, userId: String(to._id), code: e.extensions?.code ?? e.message }, "mail not sent");
          });
      }),
    close: () => impl.close(),
  };
}
