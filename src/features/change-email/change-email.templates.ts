// Mails of the change-email feature: the link to the new address, and the notices to the current
// address (a change was asked for; the change was made) and to the owner of a taken address.
import { defineTemplate, html, link, text } from "../../core/mail/index.js";

export const confirmChangeEmailMail = defineTemplate<{ url: string; ttlHours: number }>("confirm-change-email", {
  subject: (_p, site) => `Confirm your new email address for ${site.productName}`,
  text: (p, site) => text`Someone (probably you) asked to use this address for their ${site.productName} account. To confirm it, open this link:

${p.url}

The link works once and expires in ${p.ttlHours} hours. If you did not ask for this, ignore this message: nothing changes.`,
  html: (p, site) => html`<p>Someone (probably you) asked to use this address for their ${site.productName} account.</p>
<p>${link(p.url, "Confirm my new email address")}</p>
<p>The link works once and expires in ${p.ttlHours} hours. If you did not ask for this, ignore this message: nothing changes.</p>`,
});

/** To the current address when a change is asked for (Flask-Security sends nothing here). */
export const changeEmailRequestedMail = defineTemplate<{ newEmail: string }>("change-email-requested", {
  subject: (_p, site) => `A change of your ${site.productName} email address was requested`,
  text: (p, site) => text`Someone signed in to your ${site.productName} account asked to change its email address to ${p.newEmail}. The change happens only when the link sent to that address is used.

If this was not you, change your password and sign out your other sessions at:

${site.publicUrl}`,
  html: (p, site) => html`<p>Someone signed in to your ${site.productName} account asked to change its email address to <strong>${p.newEmail}</strong>. The change happens only when the link sent to that address is used.</p>
<p>If this was not you, ${link(site.publicUrl, "sign in")}, change your password and sign out your other sessions.</p>`,
});

/** To the old address once the change is made. */
export const emailChangedMail = defineTemplate<{ newEmail: string }>("email-changed", {
  subject: (_p, site) => `Your ${site.productName} email address was changed`,
  text: (p, site) => text`The email address of your ${site.productName} account is now ${p.newEmail}. This address no longer signs in to it.

If you did not do this, contact the site's support at once:

${site.publicUrl}`,
  html: (p, site) => html`<p>The email address of your ${site.productName} account is now <strong>${p.newEmail}</strong>. This address no longer signs in to it.</p>
<p>If you did not do this, contact ${link(site.publicUrl, site.productName)} at once.</p>`,
});

/** To the owner of an address another account asked to move to (instead of a link). */
export const emailTakenMail = defineTemplate<Record<string, never>>("change-email-taken", {
  subject: (_p, site) => `Someone tried to use your email address at ${site.productName}`,
  text: (_p, site) => text`Someone asked to move another ${site.productName} account to this email address, which already belongs to your account. Nothing changed: the address stays with your account.

If it was you, sign in with this address at:

${site.publicUrl}

Otherwise you can ignore this message.`,
  html: (_p, site) => html`<p>Someone asked to move another ${site.productName} account to this email address, which already belongs to your account. Nothing changed: the address stays with your account.</p>
<p>If it was you, ${link(site.publicUrl, "sign in")} with this address. Otherwise you can ignore this message.</p>`,
});
