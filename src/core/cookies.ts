// Response cookies collected during a request and written by the HTTP layer.
export interface CookieSettings {
  cookieName: string;
  cookieSecure: boolean;
  cookieSameSite: "Strict" | "Lax";
}

export class CookieJar {
  readonly outgoing: string[] = [];
  constructor(private readonly incoming: Record<string, string>, private readonly settings: CookieSettings) {}

  get session(): string | undefined {
    return this.incoming[this.settings.cookieName];
  }

  /** Another cookie of ours (e.g. remember-device), with the session cookie's attributes. */
  get(name: string): string | undefined {
    return this.incoming[name];
  }

  set(name: string, value: string, maxAgeSeconds: number): void {
    const s = this.settings;
    this.outgoing.push(`${name}=${value}; Path=/; HttpOnly; SameSite=${s.cookieSameSite}; Max-Age=${maxAgeSeconds}${s.cookieSecure ? "; Secure" : ""}`);
  }

  setSession(value: string, maxAgeSeconds: number): void {
    const s = this.settings;
    this.outgoing.push(
      `${s.cookieName}=${value}; Path=/; HttpOnly; SameSite=${s.cookieSameSite}; Max-Age=${maxAgeSeconds}${s.cookieSecure ? "; Secure" : ""}`,
    );
  }

  clearSession(): void {
    const s = this.settings;
    this.outgoing.push(`${s.cookieName}=; Path=/; HttpOnly; SameSite=${s.cookieSameSite}; Max-Age=0${s.cookieSecure ? "; Secure" : ""}`);
  }
}

export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!header || header.length > 8192) return out;
  for (const part of header.split(";")) {
    const i = part.indexOf("=");
    if (i <= 0) continue;
    const name = part.slice(0, i).trim();
    if (name && !(name in out)) out[name] = part.slice(i + 1).trim();
  }
  return out;
}
