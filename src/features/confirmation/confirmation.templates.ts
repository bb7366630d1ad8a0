// Mails of the confirmation feature (and the two registration notices that go with it).
import { defineTemplate, html, link, text } from "../../core/mail/index.js";

export const confirmEmailMail = defineTemplate<{ url: string; ttlHours: number }>("confirm-email", {
  subject: (_p, site) => `Confirm your email address for ${site.productName}`,
  text: (p, site) => text`Please confirm your email address for ${site.productName} by opening this link:

${p.url}

The link works once and expires in ${p.ttlHours} hours. If you did not create an account, ignore this message.`,
  html: (p, site) => html`<p>Please confirm your email address for ${site.productName}:</p>
<p>${link(p.url, "Confirm my email address")}</p>
<p>The link works once and expires in ${p.ttlHours} hours. If you did not create an account, ignore this message.</p>`,
});

export const welcomeMail = defineTemplate<Record<string, never>>("welcome", {
  subject: (_p, site) => `Welcome to ${site.productName}`,
  text: (_p, site) => text`Your ${site.productName} account is ready. Sign in at:

${site.publicUrl}`,
  html: (_p, site) => html`<p>Your ${site.productName} account is ready.</p>
<p>${link(site.publicUrl, "Sign in")}</p>`,
});

/** To the owner of an address someone tried to register again (Flask-Security does the same). */
export const registerAttemptMail = defineTemplate<Record<string, never>>("register-attempt-existing", {
  subject: (_p, site) => `Someone tried to register with your email at ${site.productName}`,
  text: (_p, site) => text`Someone (maybe you) tried to create a ${site.productName} account with this email address, which already has an account. No new account was created.

If it was you, sign in (or reset your password) at:

${site.publicUrl}

If it was not you, you can ignore this message.`,
  html: (_p, site) => html`<p>Someone (maybe you) tried to create a ${site.productName} account with this email address, which already has an account. No new account was created.</p>
<p>If it was you, ${link(site.publicUrl, "sign in")} (or reset your password). If it was not you, you can ignore this message.</p>`,
});
