// Time-based one-time passwords (RFC 6238) through otplib: SHA-1, 30-second steps, the configured
// number of digits. `match` returns the time step a code belongs to, so callers can accept each
// step once per user (a claim) and never an older step than the last one used.
import { generateSecret, generateURI, verify } from "otplib";
import type { Clock } from "./clock.js";

const PERIOD = 30;

export class Totp {
  constructor(
    private readonly clock: Clock,
    private readonly digits: number,
    private readonly windowSteps: number,
  ) {}

  /** A new 160-bit secret in base32 (the size RFC 4226 recommends). */
  newSecret(): string {
    return generateSecret({ length: 20 });
  }

  uri(secret: string, issuer: string, account: string): string {
    return generateURI({ strategy: "totp", issuer, label: account, secret, digits: this.digits as 6 | 7 | 8, period: PERIOD });
  }

  /** The time step of `code` within the drift window around now, or null. */
  async match(secret: string, code: string): Promise<number | null> {
    if (typeof code !== "string" || code.length !== this.digits || !/^[0-9]+$/.test(code)) return null;
    const res = await verify({
      strategy: "totp",
      secret,
      token: code,
      digits: this.digits as 6 | 7 | 8,
      period: PERIOD,
      epoch: Math.floor(this.clock.now().getTime() / 1000),
      epochTolerance: this.windowSteps * PERIOD,
    });
    return res.valid && "timeStep" in res ? res.timeStep : null;
  }
}
