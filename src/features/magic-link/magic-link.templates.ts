// The sign-in link mail.
import { defineTemplate, html, link, text } from "../../core/mail/index.js";

export const signInLinkMail = defineTemplate<{ url: string; ttlMinutes: number }>("sign-in-link", {
  subject: (_p, site) => `Your ${site.productName} sign-in link`,
  text: (p, site) => text`Someone (maybe you) asked to sign in to ${site.productName} with this email address. To sign in, open this link:

${p.url}

It works once and expires in ${p.ttlMinutes} minutes. If you did not ask for it, ignore this message: nobody can sign in without the link.`,
  html: (p, site) => html`<p>Someone (maybe you) asked to sign in to ${site.productName} with this email address.</p>
<p>${link(p.url, "Sign in")}</p>
<p>It works once and expires in ${p.ttlMinutes} minutes. If you did not ask for it, ignore this message: nobody can sign in without the link.</p>`,
});
