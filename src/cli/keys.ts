// `gql-auth keys …`: the access-token signing key ring (list, rotate).
import { boolOpt, type Command, type Group } from "./framework.js";
import type { CliApp } from "./runtime.js";

interface KeySummary {
  kid: string;
  alg: string;
  createdAt: string;
  activatedAt: string;
  retiredAt: string | null;
  /** pending: published, signs from activatedAt; signing; verifying: retired, still in the JWKS; expired: no longer published. */
  status: "pending" | "signing" | "verifying" | "expired";
}

async function keySummaries({ app }: CliApp): Promise<KeySummary[]> {
  await app.keys.reload();
  const states = new Map(app.keys.states().map((k) => [k.kid, k]));
  const docs = await app.models.SigningKey.find().sort({ createdAt: 1 }).lean();
  return docs.map((d) => ({
    kid: d._id,
    alg: d.alg,
    createdAt: new Date(d.createdAt).toISOString(),
    activatedAt: new Date(d.activatedAt).toISOString(),
    retiredAt: d.retiredAt ? new Date(d.retiredAt).toISOString() : null,
    status: states.get(d._id)?.state ?? "expired",
  }));
}

const list: Command = {
  name: "list",
  summary: "List the signing keys: kid, created, retired, status.",
  synopsis: "",
  positionals: { names: [], required: 0 },
  options: {},
  optionHelp: [],
  details: "status: pending (published, signs from ACTIVATES), signing (signs new access tokens), verifying (retired, still in the JWKS until its last token expired), expired.",
  async run(ctx) {
    const keys = await keySummaries(ctx);
    const header = `${"KID".padEnd(18)} ${"ACTIVATES".padEnd(24)} ${"RETIRED".padEnd(24)} STATUS`;
    const rows = keys.map((k) => `${k.kid.padEnd(18)} ${k.activatedAt.padEnd(24)} ${(k.retiredAt ?? "-").padEnd(24)} ${k.status}`);
    return { text: [header, ...rows].join("\n"), data: { keys } };
  },
};

const rotate: Command = {
  name: "rotate",
  summary: "Add a signing key: published now, signing after tokens.keyActivationDelaySeconds; the previous one then retires.",
  synopsis: "[--now]",
  positionals: { names: [], required: 0 },
  options: { now: { type: "boolean" } },
  optionHelp: ["--now             sign with the new key at once (a compromised key): instances that have not reloaded yet briefly publish a JWKS without it"],
  details:
    "Every running server publishes the new key within tokens.keyRefreshSeconds, before any signs with it; the retired key keeps verifying (and stays in the JWKS) until its last token expired.",
  async run(ctx, args) {
    const { kid, activatedAt } = await ctx.app.keys.rotate(boolOpt(args, "now") ? { delaySeconds: 0 } : {});
    const keys = await keySummaries(ctx);
    return { text: `new signing key ${kid}, signing from ${activatedAt.toISOString()}`, data: { kid, activatedAt: activatedAt.toISOString(), keys } };
  },
};

export const keysGroup: Group = {
  name: "keys",
  summary: "List and rotate the access-token signing keys (published at /.well-known/jwks.json).",
  commands: [list, rotate],
};
