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
