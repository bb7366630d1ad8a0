// `gql-auth roles …`: Flask-Security's roles create / add / remove / add-permissions /
// remove-permissions, plus list. Same RoleService as the GraphQL mutations.
import type { RoleData } from "../db/role.model.js";
import { commaList, strOpt, strsOpt, type Command, type Group, type Output } from "./framework.js";

interface RoleSummary {
  name: string;
  description: string;
  permissions: string[];
}

const roleSummary = (r: RoleData): RoleSummary => ({ name: r.name, description: r.description ?? "", permissions: [...r.permissions].sort() });

const roleLine = (r: RoleSummary): string => `${r.name}: ${r.permissions.join(", ") || "(no permissions)"}${r.description ? ` (${r.description})` : ""}`;

const roleOutput = (verb: string, role: RoleData): Output => {
  const r = roleSummary(role);
  return { text: `${verb} ${roleLine(r)}`, data: { role: r } };
};

const create: Command = {
  name: "create",
  summary: "Create a role.",
  synopsis: "<name> [--description D] [--permissions a,b]",
  positionals: { names: ["name"], required: 1 },
  options: { description: { type: "string", short: "d" }, permissions: { type: "string", multiple: true } },
  optionHelp: ["-d, --description D  what the role is for", "--permissions a,b   its permissions (comma-separated, repeatable)"],
  validate: (args) => void commaList(strsOpt(args, "permissions"), "permission"),
  async run({ app, by }, args) {
    const permissions = commaList(strsOpt(args, "permissions"), "permission");
    const role = await app.features.roles.create({ name: args.positionals[0] as string, description: strOpt(args, "description") ?? "", permissions }, by);
    return roleOutput("created role", role);
  },
};

const assignment = (name: "add" | "remove"): Command => ({
  name,
  summary: name === "add" ? "Give a user a role." : "Take a role from a user.",
  synopsis: "<identity> <role>",
  positionals: { names: ["identity", "role"], required: 2 },
  options: {},
  optionHelp: [],
  details: "<identity> is an email address, a username or a user id. Running servers see the change within sessions.revocationPollMs.",
  async run(ctx, args) {
    const [identity, role] = args.positionals as [string, string];
    const user = await ctx.users.resolve(identity);
    const roles = ctx.app.features.roles;
    const updated = name === "add" ? await roles.grant(String(user._id), role, ctx.by) : await roles.revoke(String(user._id), role, ctx.by);
    return ctx.users.output(name === "add" ? `granted role ${role} to` : `revoked role ${role} from`, updated, `; roles now: ${updated.roles.join(", ") || "(none)"}`);
  },
});

const permissionChange = (name: "add-permissions" | "remove-permissions"): Command => ({
  name,
  summary: name === "add-permissions" ? "Add permissions to a role." : "Remove permissions from a role.",
  synopsis: "<role> <permission,...>",
  positionals: { names: ["role", "permissions"], required: 2, variadic: true },
  options: {},
  optionHelp: [],
  details: "Permissions are comma-separated and/or separate arguments.",
  validate: (args) => void commaList(args.positionals.slice(1), "permission"),
  async run({ app, by }, args) {
    const [role, ...rest] = args.positionals as [string, ...string[]];
    const perms = commaList(rest, "permission");
    const add = name === "add-permissions" ? perms : [];
    const remove = name === "add-permissions" ? [] : perms;
    return roleOutput("updated role", await app.features.roles.changePermissions(role, add, remove, by));
  },
});

const list: Command = {
  name: "list",
  summary: "List every role with its permissions.",
  synopsis: "",
  positionals: { names: [], required: 0 },
  options: {},
  optionHelp: [],
  async run({ app }) {
    // The CLI process starts with an empty role cache, so this reads the database.
    const roles = (await app.features.roles.list()).map(roleSummary);
    return { text: roles.length ? roles.map(roleLine).join("\n") : "(no roles)", data: { roles } };
  },
};

export const rolesGroup: Group = {
  name: "roles",
  summary: "Create roles, grant and revoke them, change their permissions, list them.",
  commands: [create, assignment("add"), assignment("remove"), permissionChange("add-permissions"), permissionChange("remove-permissions"), list],
};
