// The small command framework of the CLI: command specs, argument parsing (node:util parseArgs),
// help texts, output (human on stdout, errors on stderr, --json on request) and exit codes.
import { parseArgs, type ParseArgsConfig } from "node:util";
import type { CliApp } from "./runtime.js";

export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/** A mistake in how the command was called (exit 2, with the command's usage). */
export class UsageError extends Error {
  constructor(message: string, readonly usage?: string) {
    super(message);
  }
}

/** The environment's configuration is invalid (exit 2, like the server's). */
export class ConfigurationError extends Error {}

/** An expected failure with a plain message (exit 1). */
export class CliError extends Error {
  constructor(message: string, readonly code = "CLI_ERROR") {
    super(message);
  }
}

export type OptionSpecs = NonNullable<ParseArgsConfig["options"]>;
type OptionValue = string | boolean | Array<string | boolean> | undefined;

export interface Args {
  positionals: string[];
  values: Record<string, OptionValue>;
  json: boolean;
}

/** What a command prints: `text` for people, `data` for --json. */
export interface Output {
  text: string;
  data: unknown;
}

export interface Command {
  name: string;
  summary: string;
  /** e.g. "<email>"; appended to "gql-auth <group> <name>". */
  synopsis: string;
  /** Positional names; the first `required` of them must be given, `variadic` allows more. */
  positionals: { names: string[]; required: number; variadic?: boolean };
  options: OptionSpecs;
  /** One line per option, shown by --help. */
  optionHelp: string[];
  details?: string;
  /** Checks the arguments before the database is opened; throws UsageError. */
  validate?(args: Args): void;
  run(app: CliApp, args: Args): Promise<Output>;
}

export interface Group {
  name: string;
  summary: string;
  commands: Command[];
}

const COMMON: OptionSpecs = {
  help: { type: "boolean", short: "h" },
  json: { type: "boolean" },
};

export const usageOf = (group: Group, cmd: Command): string =>
  [`usage: gql-auth ${group.name} ${cmd.name}${cmd.synopsis ? ` ${cmd.synopsis}` : ""}`, "", `${cmd.summary}`,
    ...(cmd.details ? ["", cmd.details] : []),
    "", "options:", ...cmd.optionHelp.map((l) => `  ${l}`), "  --json              machine-readable output (JSON on stdout; errors as JSON on stderr)", "  -h, --help          show this help"].join("\n");

/** The synopsis and a pointer to --help: what a usage error shows. */
export const shortUsageOf = (group: Group, cmd: Command): string =>
  `usage: gql-auth ${group.name} ${cmd.name}${cmd.synopsis ? ` ${cmd.synopsis}` : ""}\nRun "gql-auth ${group.name} ${cmd.name} --help" for its options.`;

export const groupUsage = (group: Group): string =>
  [`usage: gql-auth ${group.name} <command> [options]`, "", group.summary, "", "commands:",
    ...group.commands.flatMap((c) => [`  ${c.name}${c.synopsis ? ` ${c.synopsis}` : ""}`, `      ${c.summary}`]),
    "", `Run "gql-auth ${group.name} <command> --help" for a command's options.`].join("\n");

export const topUsage = (groups: Group[]): string =>
  ["usage: gql-auth <group> <command> [options]", "",
    "Administration of the GraphQL auth server (Flask-Security's users/roles commands). It works on the",
    "database of the configuration in the environment (MONGODB_URI, DATA_DIR, ...; see the README):",
    "without MONGODB_URI it uses (or starts) the embedded database under DATA_DIR.", "", "groups:",
    ...groups.map((g) => `  ${g.name.padEnd(8)} ${g.summary}`), "",
    "exit codes: 0 success, 1 failure, 2 usage or configuration error.",
    "LOG_LEVEL (default warn) controls the log lines written to stderr.",
    `Run "gql-auth <group> --help" for its commands.`].join("\n");

/** Parses a command's arguments; unknown options and wrong positional counts are usage errors. */
export function parseCommand(group: Group, cmd: Command, argv: string[]): Args | "help" {
  const usage = shortUsageOf(group, cmd);
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { ...COMMON, ...cmd.options }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/\. To specify a positional argument.*$/s, "."), usage);
  }
  const values = parsed.values as Record<string, OptionValue>;
  if (values.help) return "help";
  const { names, required, variadic } = cmd.positionals;
  const given = parsed.positionals;
  if (given.length < required) throw new UsageError(`missing ${names.slice(given.length, required).map((n) => `<${n}>`).join(" ")}`, usage);
  if (given.length > names.length && !variadic) throw new UsageError(`unexpected argument "${given[names.length]}"`, usage);
  const args: Args = { positionals: given, values, json: values.json === true };
  try {
    cmd.validate?.(args);
  } catch (err) {
    throw err instanceof UsageError && !err.usage ? new UsageError(err.message, usage) : err;
  }
  return args;
}

// ---- option helpers ---------------------------------------------------------------------------

export const strOpt = (args: Args, name: string): string | undefined => {
  const v = args.values[name];
  return typeof v === "string" ? v : undefined;
};
export const strsOpt = (args: Args, name: string): string[] => {
  const v = args.values[name];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : typeof v === "string" ? [v] : [];
};
export const boolOpt = (args: Args, name: string): boolean => args.values[name] === true;

/** "a,b" "c" → ["a","b","c"]; empty items are a usage error. */
export function commaList(items: string[], what: string, usage?: string): string[] {
  const out = items.flatMap((i) => i.split(",")).map((s) => s.trim());
  if (out.some((s) => s === "")) throw new UsageError(`empty ${what} in "${items.join(",")}"`, usage);
  return out;
}

// ---- output -----------------------------------------------------------------------------------

export function printResult(out: Output, json: boolean): void {
  process.stdout.write(json ? `${JSON.stringify(out.data, null, 2)}\n` : `${out.text}\n`);
}

interface ErrorReport {
  code: string;
  message: string;
  fieldErrors?: Array<{ field: string; code: string; message: string }>;
}

/** The kernel's AppError, recognised by shape so that help and usage errors never load graphql. */
const isAppError = (err: unknown): err is Error & { spec: { code: string }; extensions: Record<string, unknown> } =>
  err instanceof Error && typeof (err as { spec?: { code?: unknown } }).spec?.code === "string" && typeof (err as { extensions?: unknown }).extensions === "object";

export function describeError(err: unknown): ErrorReport {
  if (isAppError(err)) {
    const fieldErrors = err.extensions.fieldErrors as ErrorReport["fieldErrors"];
    return { code: err.spec.code, message: err.message, ...(fieldErrors?.length ? { fieldErrors } : {}) };
  }
  if (err instanceof CliError) return { code: err.code, message: err.message };
  if (err instanceof ConfigurationError) return { code: "CONFIGURATION", message: err.message };
  if (err instanceof UsageError) return { code: "USAGE", message: err.message };
  return { code: "INTERNAL_ERROR", message: (err as Error)?.message ?? String(err) };
}

export function printError(err: unknown, json: boolean): void {
  const report = describeError(err);
  if (json) {
    process.stderr.write(`${JSON.stringify({ error: report })}\n`);
    return;
  }
  const lines = [`error: ${report.message}${["USAGE", "CLI_ERROR", "CONFIGURATION"].includes(report.code) ? "" : ` (${report.code})`}`];
  for (const f of report.fieldErrors ?? []) lines.push(`  ${f.field}: ${f.message} (${f.code})`);
  if (err instanceof UsageError && err.usage) lines.push("", err.usage);
  process.stderr.write(`${lines.join("\n")}\n`);
}

/** Aligned "key: value" lines. */
export const table = (rows: Array<[string, string]>): string => {
  const width = Math.max(...rows.map(([k]) => k.length)) + 1;
  return rows.map(([k, v]) => `${`${k}:`.padEnd(width)} ${v}`).join("\n");
};

export const iso = (d: Date | null | undefined): string => (d ? new Date(d).toISOString() : "-");
