// The unified sign-in mail: a code, and a sign-in link when magic links are on.
import { defineTemplate, html, link, text } from "../../core/mail/index.js";

export const usCodeMail = defineTemplate<{ code: string; url: string | null; ttlMinutes: number }>("us-code", {
  subject: (_p, site) => `Your ${site.productName} sign-in code`,
  text: (p, site) =>
    p.url
      ? text`Your ${site.productName} sign-in code is:

${p.code}

Or open this link to sign in:

${p.url}

Both work once and expire in ${p.ttlMinutes} minutes. If you did not ask for them, ignore this message.`
      : text`Your ${site.productName} sign-in code is:

${p.code}

It works once and expires in ${p.ttlMinutes} minutes. If you did not ask for it, ignore this message.`,
  html: (p, site) => html`<p>Your ${site.productName} sign-in code is:</p>
<p style="font-size:1.5em;letter-spacing:0.2em"><strong>${p.code}</strong></p>
${p.url ? html`<p>Or ${link(p.url, "sign in with this link")}.</p>` : ""}
<p>It works once and expires in ${p.ttlMinutes} minutes. If you did not ask for it, ignore this message.</p>`,
});
