// Entry of the command-line tool (`gql-auth`, `npm run cli -- …`):
//   gql-auth <group> <command> [arguments] [options]
// Exit codes: 0 success, 1 failure, 2 usage or configuration error.
import { ConfigurationError, EXIT, groupUsage, parseCommand, printError, printResult, topUsage, usageOf, UsageError, type Group } from "./framework.js";
import { keysGroup } from "./keys.js";
import { rolesGroup } from "./roles.js";
import { usersGroup } from "./users.js";

const GROUPS: Group[] = [usersGroup, rolesGroup, keysGroup];
const isHelp = (a: string | undefined): boolean => a === "--help" || a === "-h" || a === "help";

export async function run(argv: string[]): Promise<number> {
  const json = argv.includes("--json");
  // "help users create" is "users create --help".
  if (argv[0] === "help" && argv.length > 1) argv = [...argv.slice(1), "--help"];
  const [groupName, cmdName, ...rest] = argv;
  try {
    if (isHelp(groupName)) return print(topUsage(GROUPS));
    if (!groupName) throw new UsageError("missing <group>", topUsage(GROUPS));
    const group = GROUPS.find((g) => g.name === groupName);
    if (!group) throw new UsageError(`unknown group "${groupName}"`, topUsage(GROUPS));
    if (isHelp(cmdName)) return print(groupUsage(group));
    if (!cmdName) throw new UsageError(`missing <command> for "${group.name}"`, groupUsage(group));
    const cmd = group.commands.find((c) => c.name === cmdName);
    if (!cmd) throw new UsageError(`unknown command "${group.name} ${cmdName}"`, groupUsage(group));
    const args = parseCommand(group, cmd, rest);
    if (args === "help") return print(usageOf(group, cmd));
    // Loaded only now: help and usage errors stay fast (no config, database or graphql modules).
    const { cliConfig, withApp } = await import("./runtime.js");
    const config = cliConfig();
    const out = await withApp(config, (ctx) => cmd.run(ctx, args));
    printResult(out, args.json);
    return EXIT.ok;
  } catch (err) {
    printError(err, json);
    if (err instanceof UsageError || err instanceof ConfigurationError) return EXIT.usage;
    if (process.env.LOG_LEVEL === "debug" || process.env.LOG_LEVEL === "trace") process.stderr.write(`${(err as Error).stack ?? ""}\n`);
    return EXIT.failure;
  }
}

function print(text: string): number {
  process.stdout.write(`${text}\n`);
  return EXIT.ok;
}

run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Everything is closed by now; this only guards against a stray handle keeping the process up.
    setTimeout(() => process.exit(code), 2000).unref();
  },
  (err: unknown) => {
    process.stderr.write(`fatal: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(EXIT.failure);
  },
);
