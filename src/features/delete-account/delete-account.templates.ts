// The notice of the delete-account feature, to the address the account had.
import { defineTemplate, html, link, text } from "../../core/mail/index.js";

export const accountDeletedMail = defineTemplate<{ deletedAt: string; byOperator: boolean }>("account-deleted", {
  subject: (_p, site) => `Your ${site.productName} account was deleted`,
  text: (p, site) => text`Your ${site.productName} account with this email address was deleted on ${p.deletedAt}${p.byOperator ? " by an administrator" : ""}, together with its profile, sessions and sign-in methods. Every device was signed out. This cannot be undone; the address can be used to register again.

If you did not ask for this, contact the site's support:

${site.publicUrl}`,
  html: (p, site) => html`<p>Your ${site.productName} account with this email address was deleted on ${p.deletedAt}${p.byOperator ? " by an administrator" : ""}, together with its profile, sessions and sign-in methods. Every device was signed out. This cannot be undone; the address can be used to register again.</p>
<p>If you did not ask for this, contact ${link(site.publicUrl, site.productName)}.</p>`,
});
