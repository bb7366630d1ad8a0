// Access tokens (JWT, EdDSA, kid in the header, published through the JWKS) and refresh tokens
// (opaque: session id + generation + HMAC bound to the user's uniquifier; nothing secret stored).
import { SignJWT, jwtVerify, errors as joseErrors, type JWTPayload } from "jose";
import type { KeyRing } from "./keys.js";
import { SIGNING_ALG } from "./keys.js";
import { hmac, randomToken, safeEqual } from "./crypto.js";

export interface AccessClaims extends JWTPayload {
  sub: string;
  sid: string;
  auth_time: number;
  amr: string[];
  scope: string;
  exp: number;
  jti: string;
}

export interface TokenSettings {
  issuer: string;
  audience: string;
  accessTokenTtlSeconds: number;
  verifiedCacheSize: number;
}

export type TokenFailure = "expired" | "invalid";

export class AccessTokens {
  private readonly cache = new Map<string, AccessClaims>();

  constructor(private readonly keys: KeyRing, private readonly settings: TokenSettings) {}

  async sign(claims: { sub: string; sid: string; authTime: Date; amr: string[]; scopes: string[] }, now: Date): Promise<{ token: string; expiresAt: Date }> {
    const { kid, key } = this.keys.signingKey();
    const iat = Math.floor(now.getTime() / 1000);
    const exp = iat + this.settings.accessTokenTtlSeconds;
    const token = await new SignJWT({ sid: claims.sid, auth_time: Math.floor(claims.authTime.getTime() / 1000), amr: claims.amr, scope: claims.scopes.join(" ") })
      .setProtectedHeader({ alg: SIGNING_ALG, kid, typ: "at+jwt" })
      .setIssuer(this.settings.issuer)
      .setAudience(this.settings.audience)
      .setSubject(claims.sub)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .setJti(randomToken(12))
      .sign(key);
    return { token, expiresAt: new Date(exp * 1000) };
  }

  /** Verifies signature, alg, typ, iss, aud and exp; a verified token is cached until its exp. */
  async verify(token: string): Promise<AccessClaims | TokenFailure> {
    const hit = this.cache.get(token);
    if (hit) {
      if (hit.exp * 1000 > Date.now()) return hit;
      this.cache.delete(token);
      return "expired";
    }
    try {
      const { payload } = await jwtVerify(token, async (header) => {
        const key = await this.keys.verificationKey(header.kid);
        if (!key) throw new joseErrors.JWKSNoMatchingKey();
        return key;
      }, {
        issuer: this.settings.issuer,
        audience: this.settings.audience,
        algorithms: [SIGNING_ALG],
        typ: "at+jwt",
        requiredClaims: ["sub", "sid", "exp", "iat", "jti"],
      });
      const claims = payload as AccessClaims;
      if (typeof claims.sid !== "string" || typeof claims.sub !== "string") return "invalid";
      if (this.settings.verifiedCacheSize > 0) {
        if (this.cache.size >= this.settings.verifiedCacheSize) this.cache.delete(this.cache.keys().next().value as string);
        this.cache.set(token, claims);
      }
      return claims;
    } catch (err) {
      return err instanceof joseErrors.JWTExpired ? "expired" : "invalid";
    }
  }
}

/** Refresh token: "rt1.<sid>.<generation>.<mac>"; the mac binds it to the session and uniquifier. */
export class RefreshTokens {
  constructor(private readonly key: string) {}

  make(sid: string, generation: number, uniquifier: string): string {
    return `rt1.${sid}.${generation}.${hmac(this.key, `${sid}.${generation}.${uniquifier}`)}`;
  }

  parse(token: string): { sid: string; generation: number; mac: string } | null {
    const m = /^rt1\.([a-f0-9]{24})\.(\d{1,9})\.([A-Za-z0-9_-]{43})$/.exec(token);
    if (!m) return null;
    return { sid: m[1] as string, generation: Number(m[2]), mac: m[3] as string };
  }

  matches(parsed: { sid: string; generation: number; mac: string }, uniquifier: string): boolean {
    return safeEqual(parsed.mac, hmac(this.key, `${parsed.sid}.${parsed.generation}.${uniquifier}`));
  }
}
