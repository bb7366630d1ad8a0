// Leaf builders for the configuration schema. Every option carries its documentation and its
// default as zod metadata, so the README table and the environment loader are derived from the
// one schema and can never drift from it.
import { z } from "zod";

export interface OptionMeta {
  description: string;
  /** Shown in the README instead of the literal default (e.g. for secrets or derived values). */
  defaultDoc?: string;
  [key: string]: unknown;
}

const meta = <T extends z.ZodType>(schema: T, m: OptionMeta): T => schema.meta(m);

/** A whole number, typically with its unit in the option's name (…Seconds, …Ms, …Bytes). */
export const int = (def: number, description: string, opts: { min?: number; max?: number } = {}) =>
  meta(
    z.coerce
      .number()
      .int()
      .min(opts.min ?? 0)
      .max(opts.max ?? Number.MAX_SAFE_INTEGER)
      .default(def),
    { description },
  );

/** Environment strings "true"/"1"/"yes" and "false"/"0"/"no"; anything else is refused. */
const boolFromEnv = z.preprocess((v) => {
  if (typeof v !== "string") return v;
  const s = v.trim().toLowerCase();
  if (["true", "1", "yes", "on"].includes(s)) return true;
  if (["false", "0", "no", "off"].includes(s)) return false;
  return v;
}, z.boolean());

export const bool = (def: boolean, description: string, defaultDoc?: string) =>
  meta(boolFromEnv.default(def), { description, ...(defaultDoc ? { defaultDoc } : {}) });

export const str = (def: string, description: string, defaultDoc?: string) =>
  meta(z.string().default(def), { description, ...(defaultDoc ? { defaultDoc } : {}) });

export const optionalStr = (description: string, defaultDoc = "unset") =>
  meta(z.string().min(1).optional(), { description, defaultDoc });

export const oneOf = <const T extends readonly [string, ...string[]]>(values: T, def: T[number], description: string) =>
  meta(z.enum(values).default(def as never), { description });

/** Comma-separated in the environment. */
export const list = (def: string[], description: string) =>
  meta(
    z
      .preprocess((v) => (typeof v === "string" ? v.split(",").map((s) => s.trim()).filter(Boolean) : v), z.array(z.string().min(1)))
      .default(def),
    { description },
  );

export { z };
