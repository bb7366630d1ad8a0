// Mails of the recovery feature: the reset link, the notice after a reset, and the username.
import { defineTemplate, html, link, text } from "../../core/mail/index.js";

export const resetPasswordMail = defineTemplate<{ url: string; ttlMinutes: number }>("reset-password", {
  subject: (_p, site) => `Reset your ${site.productName} password`,
  text: (p, site) => text`Someone (maybe you) asked to reset the password of your ${site.productName} account. To choose a new password, open this link:

${p.url}

The link works once and expires in ${p.ttlMinutes} minutes. If you did not ask for it, ignore this message: your password stays as it is.`,
  html: (p, site) => html`<p>Someone (maybe you) asked to reset the password of your ${site.productName} account.</p>
<p>${link(p.url, "Choose a new password")}</p>
<p>The link works once and expires in ${p.ttlMinutes} minutes. If you did not ask for it, ignore this message: your password stays as it is.</p>`,
});

export const passwordResetNoticeMail = defineTemplate<Record<string, never>>("password-reset-notice", {
  subject: (_p, site) => `Your ${site.productName} password was changed`,
  text: (_p, site) => text`The password of your ${site.productName} account was just changed through a password reset link. Every device was signed out.

If this was not you, reset your password again at once and check the security of your mailbox:

${site.publicUrl}`,
  html: (_p, site) => html`<p>The password of your ${site.productName} account was just changed through a password reset link. Every device was signed out.</p>
<p>If this was not you, ${link(site.publicUrl, "reset your password again")} at once and check the security of your mailbox.</p>`,
});

export const recoverUsernameMail = defineTemplate<{ username: string }>("recover-username", {
  subject: (_p, site) => `Your ${site.productName} username`,
  text: (p, site) => text`Someone (maybe you) asked for the username of the ${site.productName} account with this email address. It is:

${p.username}

Sign in at:

${site.publicUrl}`,
  html: (p, site) => html`<p>Someone (maybe you) asked for the username of the ${site.productName} account with this email address. It is:</p>
<p><strong>${p.username}</strong></p>
<p>${link(site.publicUrl, "Sign in")}</p>`,
});
