// The one way to raise an expected failure. Each feature declares its codes in a catalogue built
// with defineErrors(); every code is UPPER_SNAKE and unique across features (a test checks).
import { GraphQLError } from "graphql";

export interface ErrorSpec {
  readonly code: string;
  readonly message: string;
}

export interface FieldError {
  field: string;
  code: string;
  message: string;
}

const registry = new Map<string, ErrorSpec>();

/** Declares a feature's error catalogue; a code declared twice fails at import time. */
export function defineErrors<const T extends Record<string, string>>(specs: T): { readonly [K in keyof T]: ErrorSpec } {
  const out: Record<string, ErrorSpec> = {};
  for (const [code, message] of Object.entries(specs)) {
    if (registry.has(code)) throw new Error(`error code ${code} is declared twice`);
    const spec = { code, message };
    registry.set(code, spec);
    out[code] = spec;
  }
  return out as { readonly [K in keyof T]: ErrorSpec };
}

export const allErrorCodes = (): ErrorSpec[] => [...registry.values()];

export class AppError extends GraphQLError {
  readonly spec: ErrorSpec;
  constructor(spec: ErrorSpec, extensions: Record<string, unknown> = {}, message = spec.message) {
    super(message, { extensions: { ...extensions, code: spec.code } });
    this.spec = spec;
  }
}

/** Codes of the shared kernel, used by every feature. */
export const CORE = defineErrors({
  UNAUTHENTICATED: "Authentication required.",
  FORBIDDEN: "You are not allowed to do this.",
  REAUTH_REQUIRED: "Please verify your identity again to continue.",
  BAD_USER_INPUT: "Some fields are not valid.",
  RATE_LIMITED: "Too many attempts. Try again later.",
  DATABASE_UNAVAILABLE: "The database is unavailable. Try again shortly.",
  SERVICE_UNAVAILABLE: "A service this operation needs is unavailable. Try again shortly.",
  INTERNAL_SERVER_ERROR: "Internal server error.",
  NOT_FOUND: "Not found.",
});

/** Codes of field errors shared by every feature (extensions.fieldErrors[].code). */
export const FIELD = defineErrors({
  REQUIRED: "This field is required.",
  TOO_LONG: "This value is too long.",
  TOO_MANY: "Too many values.",
  EXACTLY_ONE: "Give exactly one of these fields.",
  NOT_ALLOWED: "This field is not accepted here.",
});

export function badInput(errors: FieldError[]): AppError {
  return new AppError(CORE.BAD_USER_INPUT, { fieldErrors: errors });
}

/** Collects field errors, then throws them all at once. */
export class InputCheck {
  private readonly errors: FieldError[] = [];
  add(field: string, spec: ErrorSpec, message = spec.message): this {
    this.errors.push({ field, code: spec.code, message });
    return this;
  }
  get ok(): boolean {
    return this.errors.length === 0;
  }
  throwIfAny(): void {
    if (this.errors.length) throw badInput(this.errors);
  }
}
