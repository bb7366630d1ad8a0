// Password hashing: NFKD normalisation, length policy in code points, HMAC-SHA-256 pre-hash under a
// server-side pepper (so bcrypt's 72-byte limit never truncates), bcrypt with a configured cost,
// one dummy hash for unknown identities, and rehash-on-login when the cost changes.
import bcrypt from "bcrypt";
import { createHmac, randomBytes } from "node:crypto";
import { defineErrors, type InputCheck } from "./errors.js";

export const PASSWORD = defineErrors({
  PASSWORD_NOT_PROVIDED: "A password is required.",
  PASSWORD_INVALID_LENGTH: "The password length is not allowed.",
  PASSWORD_INVALID_CHARACTERS: "The password contains characters that are not allowed.",
});

export interface PasswordPolicy {
  bcryptCost: number;
  minLength: number;
  maxLength: number;
}

export const normalizePassword = (password: string): string => password.normalize("NFKD");

export class PasswordHasher {
  private dummyHash: Promise<string>;

  constructor(private readonly policy: PasswordPolicy, private readonly pepper: string) {
    this.dummyHash = bcrypt.hash(randomBytes(16).toString("hex"), policy.bcryptCost);
  }

  /** Adds field errors for a password that breaks the policy; returns the normalised password. */
  check(check: InputCheck, field: string, password: string): string {
    const normalized = normalizePassword(password);
    const length = [...normalized].length;
    if (length === 0) check.add(field, PASSWORD.PASSWORD_NOT_PROVIDED);
    else if (length < this.policy.minLength || length > this.policy.maxLength) {
      check.add(field, PASSWORD.PASSWORD_INVALID_LENGTH, `The password must be ${this.policy.minLength} to ${this.policy.maxLength} characters long.`);
    } else if (/[\u0000-\u0008\u000a-\u001f\u007f]/.test(normalized)) {
      check.add(field, PASSWORD.PASSWORD_INVALID_CHARACTERS);
    }
    return normalized;
  }

  private prehash(password: string): string {
    return createHmac("sha256", this.pepper).update(normalizePassword(password)).digest("base64");
  }

  hash(password: string): Promise<string> {
    return bcrypt.hash(this.prehash(password), this.policy.bcryptCost);
  }

  /** Always costs one bcrypt verification, also when there is no hash (unknown identity). */
  async verify(password: string, hash: string | null | undefined): Promise<boolean> {
    // Inputs far beyond the policy are refused before this point; this bounds the HMAC input anyway.
    const candidate = this.prehash(password.slice(0, this.policy.maxLength * 4));
    if (!hash) {
      await bcrypt.compare(candidate, await this.dummyHash);
      return false;
    }
    return bcrypt.compare(candidate, hash);
  }

  needsRehash(hash: string): boolean {
    return bcrypt.getRounds(hash) !== this.policy.bcryptCost;
  }
}
