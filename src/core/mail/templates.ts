// A tiny template helper, no dependency. A template has a subject, a text body and an HTML body;
// `html` escapes every interpolated value (only SafeHtml made by `html`/`link` passes through as
// is), `text` flattens control characters in interpolated values so a value cannot forge lines.
// render() wraps both bodies in the common layout: the product name and public URL in a footer.
import type { MailMessage } from "./mailer.js";

/** Where the product lives: from config, never from a request. */
export interface SiteInfo {
  productName: string;
  publicUrl: string;
}

/** HTML that is already safe to emit. Made only by `html`, `link` and `SafeHtml.trusted`. */
export class SafeHtml {
  private constructor(readonly value: string) {}
  /** For constant markup written in our code; never for a value that came from outside. */
  static trusted(markup: string): SafeHtml {
    return new SafeHtml(markup);
  }
  toString(): string {
    return this.value;
  }
}

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Safe in element content and in quoted attribute values (our templates always quote them). */
export const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

const htmlValue = (v: unknown): string => {
  if (v instanceof SafeHtml) return v.value;
  if (Array.isArray(v)) return v.map(htmlValue).join("");
  if (v === null || v === undefined || v === false) return "";
  return escapeHtml(String(v));
};

/** Tagged template: `html\`<p>Hello ${name}</p>\`` escapes `name`. Arrays are joined; null/undefined/false vanish. */
export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0]!;
  values.forEach((v, i) => (out += htmlValue(v) + strings[i + 1]!));
  return SafeHtml.trusted(out);
}

const flatten = (v: unknown): string => (v === null || v === undefined || v === false ? "" : String(v).replace(/[\x00-\x08\x0a-\x1f\x7f\u2028\u2029]+/g, " "));

/** Tagged template for the text body: interpolated values lose line breaks and control characters. */
export function text(strings: TemplateStringsArray, ...values: unknown[]): string {
  let out = strings[0]!;
  values.forEach((v, i) => (out += flatten(v) + strings[i + 1]!));
  return out;
}

/** An absolute http(s) URL, or an error: a link in a mail can never be javascript:, data:, relative, … */
export function checkUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error("mail link is not an absolute URL");
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") throw new Error("mail link must be http(s)");
  return u.href;
}

/** `<a href="url">label</a>`, both escaped; the label defaults to the URL itself. */
export const link = (url: string, label?: string): SafeHtml => {
  const href = checkUrl(url);
  return html`<a href="${href}">${label ?? href}</a>`;
};

export interface TemplateParts<P> {
  subject: (params: P, site: SiteInfo) => string;
  /** Text body without footer; put each link on a line of its own. */
  text: (params: P, site: SiteInfo) => string;
  /** HTML body (inside <body>) without footer. */
  html: (params: P, site: SiteInfo) => SafeHtml;
  headers?: (params: P, site: SiteInfo) => Record<string, string>;
}

export interface MailTemplate<P> {
  readonly purpose: string;
  render(to: string, params: P, site: SiteInfo): MailMessage;
}

export function defineTemplate<P>(purpose: string, parts: TemplateParts<P>): MailTemplate<P> {
  return {
    purpose,
    render(to, params, site) {
      const subject = parts.subject(params, site);
      const body = parts.html(params, site);
      const message: MailMessage = {
        to,
        subject,
        purpose,
        text: `${parts.text(params, site).replace(/\s+$/, "")}\n\n-- \n${textFooter(site)}\n`,
        html: layout(subject, body, site).value,
      };
      const headers = parts.headers?.(params, site);
      if (headers) message.headers = headers;
      return message;
    },
  };
}

const textFooter = (site: SiteInfo): string => `${flatten(site.productName)}\n${checkUrl(site.publicUrl)}`;

const layout = (subject: string, body: SafeHtml, site: SiteInfo): SafeHtml => html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${subject}</title>
</head>
<body style="margin:0;padding:24px;font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;font-size:15px;line-height:1.5;color:#1f2328;background:#ffffff">
<div style="max-width:560px;margin:0 auto">
${body}
<hr style="border:none;border-top:1px solid #d0d7de;margin:32px 0 16px">
<p style="font-size:12px;color:#59636e">${site.productName} · ${link(site.publicUrl)}</p>
</div>
</body>
</html>
`;
