// Mails of the two-factor feature: codes, and notices when second factors change or a recovery code is used.
import { defineTemplate, html, text } from "../../core/mail/index.js";

export const twoFactorCodeMail = defineTemplate<{ code: string; ttlMinutes: number; why: string }>("two-factor-code", {
  subject: (_p, site) => `Your ${site.productName} code`,
  text: (p, site) => text`Your ${site.productName} code ${p.why} is:

${p.code}

It works once and expires in ${p.ttlMinutes} minutes. If you did not ask for it, someone may know your password: change it.`,
  html: (p, site) => html`<p>Your ${site.productName} code ${p.why} is:</p>
<p style="font-size:1.5em;letter-spacing:0.2em"><strong>${p.code}</strong></p>
<p>It works once and expires in ${p.ttlMinutes} minutes. If you did not ask for it, someone may know your password: change it.</p>`,
});

export const twoFactorChangedMail = defineTemplate<{ what: string }>("two-factor-changed", {
  subject: (_p, site) => `Your ${site.productName} second factor changed`,
  text: (p, site) => text`The second factors of your ${site.productName} account changed: ${p.what}.

If this was not you, sign in, change your password and review your second factors at once:

${site.publicUrl}`,
  html: (p, site) => html`<p>The second factors of your ${site.productName} account changed: ${p.what}.</p>
<p>If this was not you, sign in, change your password and review your second factors at once.</p>`,
});

export const twoFactorHelpMail = defineTemplate<{ userId: string; email: string; requestedAt: string; ip: string }>("two-factor-help", {
  subject: (_p, site) => `${site.productName}: a user asks for help with a lost second factor`,
  text: (p, site) => text`A user of ${site.productName} who passed the password step asks for help with a lost second factor.

Account: ${p.email} (id ${p.userId})
Asked at: ${p.requestedAt} from ${p.ip}

Whoever asked knows the password, which is not proof of being the owner. Reach the owner through a channel you trust before removing the second factors (resetUserAccess, or gql-auth users reset-access).`,
  html: (p, site) => html`<p>A user of ${site.productName} who passed the password step asks for help with a lost second factor.</p>
<p>Account: ${p.email} (id ${p.userId})<br>Asked at: ${p.requestedAt} from ${p.ip}</p>
<p>Whoever asked knows the password, which is not proof of being the owner. Reach the owner through a channel you trust before removing the second factors (resetUserAccess, or gql-auth users reset-access).</p>`,
});

export const twoFactorHelpNoticeMail = defineTemplate<Record<string, never>>("two-factor-help-notice", {
  subject: (_p, site) => `${site.productName}: help with your second factor was requested`,
  text: (_p, site) => text`Someone who signed in to your ${site.productName} account with its password asked the administrators to help with a lost second factor. They will contact you before changing anything.

If this was not you, someone knows your password: change it at once.

${site.publicUrl}`,
  html: (_p, site) => html`<p>Someone who signed in to your ${site.productName} account with its password asked the administrators to help with a lost second factor. They will contact you before changing anything.</p>
<p>If this was not you, someone knows your password: change it at once.</p>`,
});
