// The notice of the change-username feature, to the user's email address.
import { defineTemplate, html, link, text } from "../../core/mail/index.js";

export const usernameChangedMail = defineTemplate<{ username: string; previous: string | null }>("username-changed", {
  subject: (_p, site) => `Your ${site.productName} username was changed`,
  text: (p, site) => text`The username of your ${site.productName} account is now ${p.username}${p.previous ? ` (it was ${p.previous})` : ""}.

If you did not do this, change your password and sign out your other sessions at:

${site.publicUrl}`,
  html: (p, site) => html`<p>The username of your ${site.productName} account is now <strong>${p.username}</strong>${p.previous ? html` (it was ${p.previous})` : ""}.</p>
<p>If you did not do this, ${link(site.publicUrl, "sign in")}, change your password and sign out your other sessions.</p>`,
});
