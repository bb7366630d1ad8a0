// `gql-auth users …`: Flask-Security's users create / activate / deactivate / reset-access /
// change-password, plus show. Everything goes through the same services as the GraphQL API.
import { boolOpt, CliError, strOpt, strsOpt, UsageError, type Args, type Command, type Group } from "./framework.js";

const PASSWORD_OPTIONS = {
  password: { type: "string", short: "p" },
  "password-stdin": { type: "boolean" },
} as const;

const PASSWORD_HELP = [
  "-p, --password P    the password (visible in the process list and shell history)",
  "--password-stdin    read the password from standard input (one trailing newline is removed)",
];

function checkPasswordSource(args: Args): void {
  const given = strOpt(args, "password") !== undefined;
  if (given && boolOpt(args, "password-stdin")) throw new UsageError("give either --password or --password-stdin, not both");
  if (!given && !boolOpt(args, "password-stdin")) throw new UsageError("a password is required: give --password P or --password-stdin");
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

async function passwordOf(args: Args): Promise<string> {
  const direct = strOpt(args, "password");
  if (direct !== undefined) return direct;
  return (await readStdin()).replace(/\r?\n$/, "");
}

const identityArg = { names: ["identity"], required: 1 };
const IDENTITY_HELP = "<identity> is an email address, a username or a user id.";

const create: Command = {
  name: "create",
  summary: "Create a user (same identity and password rules as registration).",
  synopsis: "<email> [--username U] (--password P | --password-stdin) [--role R ...] [--inactive] [--confirmed]",
  positionals: { names: ["email"], required: 1 },
  options: {
    username: { type: "string", short: "u" },
    ...PASSWORD_OPTIONS,
    role: { type: "string", short: "r", multiple: true },
    inactive: { type: "boolean" },
    confirmed: { type: "boolean" },
  },
  optionHelp: [
    "-u, --username U    optional username (when usernames are enabled)",
    ...PASSWORD_HELP,
    "-r, --role R        an extra role (repeatable, or comma-separated); registration.defaultRoles are always given",
    "--inactive          create the account deactivated",
    "--confirmed         mark the email address as confirmed now",
  ],
  details: "An existing email address is an error.",
  validate: checkPasswordSource,
  async run(ctx, args) {
    const { app, config } = ctx;
    const extra = strsOpt(args, "role").flatMap((r) => r.split(",")).map((r) => r.trim()).filter(Boolean);
    const roles = [...new Set([...config.registration.defaultRoles, ...extra])];
    const known = await app.authState.roles.get();
    const unknown = roles.filter((r) => !known.has(r));
    if (unknown.length) throw new CliError(`no such role: ${unknown.join(", ")} (create it with "gql-auth roles create")`, "ROLE_DOES_NOT_EXIST");
    const outcome = await app.users.create({
      email: args.positionals[0] as string,
      password: await passwordOf(args),
      username: strOpt(args, "username") ?? null,
      roles,
      active: !boolOpt(args, "inactive"),
      confirmed: boolOpt(args, "confirmed"),
    });
    if ("existingEmail" in outcome) {
      const { AppError, USERS } = await ctx.kernel();
      throw new AppError(USERS.EMAIL_ALREADY_ASSOCIATED);
    }
    app.events.emit("user.registered", { userId: String(outcome.created._id), via: "cli" });
    return ctx.users.output("created", outcome.created, ` with roles ${roles.join(", ") || "(none)"}`);
  },
};

type Resolved = Awaited<ReturnType<Parameters<Command["run"]>[0]["users"]["resolve"]>>;

/** A command that takes one <identity> and acts on that user. */
function onUser(name: string, summary: string, act: (ctx: Parameters<Command["run"]>[0], user: Resolved) => ReturnType<Command["run"]>, details = IDENTITY_HELP): Command {
  return {
    name,
    summary,
    synopsis: "<identity>",
    positionals: identityArg,
    options: {},
    optionHelp: [],
    details,
    run: async (ctx, args) => act(ctx, await ctx.users.resolve(args.positionals[0] as string)),
  };
}

const activate = onUser("activate", "Activate a user's account.", async (ctx, user) =>
  ctx.users.output(user.active ? "already active:" : "activated", await ctx.app.features.accounts.setActive(String(user._id), true, ctx.by)),
);

const deactivate = onUser(
  "deactivate",
  "Deactivate a user's account; their sessions and tokens stop working at once.",
  async (ctx, user) => ctx.users.output(user.active ? "deactivated" : "already inactive:", await ctx.app.features.accounts.setActive(String(user._id), false, ctx.by)),
  `${IDENTITY_HELP}\nRunning servers learn of it through the revocation feed within sessions.revocationPollMs.`,
);

const resetAccess = onUser("reset-access", "For a compromised account: every session, token and remembered device dies, and second factors, recovery codes and passkeys are removed (the password stays).", async (ctx, user) =>
  ctx.users.output("reset access of", await ctx.app.features.accounts.resetAccess(String(user._id), ctx.by)),
);

const changePassword: Command = {
  name: "change-password",
  summary: "Set a user's password; their sessions and tokens die at once.",
  synopsis: "<identity> (--password P | --password-stdin)",
  positionals: identityArg,
  options: { ...PASSWORD_OPTIONS },
  optionHelp: PASSWORD_HELP,
  details: IDENTITY_HELP,
  validate: checkPasswordSource,
  async run(ctx, args) {
    const user = await ctx.users.resolve(args.positionals[0] as string);
    const updated = await ctx.app.features.accounts.changePassword(String(user._id), await passwordOf(args), ctx.by);
    return ctx.users.output("changed the password of", updated);
  },
};

const del: Command = {
  name: "delete",
  summary: "Delete a user and everything they own (sessions, profile, links, passkeys, …); a notice is mailed to them.",
  synopsis: "<identity> --yes",
  positionals: identityArg,
  options: { yes: { type: "boolean", short: "y" } },
  optionHelp: ["-y, --yes           required: the deletion cannot be undone"],
  details: `${IDENTITY_HELP}\nThe same deletion as the deleteAccount mutation; also finishes one that stopped half-way. Running servers refuse the user's tokens within sessions.revocationPollMs.`,
  validate: (args) => {
    if (!boolOpt(args, "yes")) throw new UsageError("deleting a user cannot be undone: add --yes to confirm");
  },
  async run(ctx, args) {
    const user = await ctx.users.resolve(args.positionals[0] as string);
    const summary = await ctx.users.summarize(user);
    await ctx.app.features.deleteAccount.deleteByOperator(String(user._id), ctx.by, { waitForMail: true });
    return { text: `deleted ${summary.email} (${summary.id})`, data: { deleted: summary } };
  },
};

const show = onUser("show", "Show a user: roles, permissions, active, confirmation, login tracking, live sessions.", async (ctx, user) => {
  const summary = await ctx.users.summarize(user, true);
  return { text: ctx.users.text(summary), data: { user: summary } };
});

export const usersGroup: Group = {
  name: "users",
  summary: "Create users, (de)activate them, reset their access, change their password, delete them, show them.",
  commands: [create, activate, deactivate, resetAccess, changePassword, del, show],
};
