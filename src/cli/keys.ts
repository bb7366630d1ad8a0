// `gql-auth keys …`: the access-token signing key ring (list, rotate).
import type { Command, Group } from "./framework.js";
import type { CliApp } from "./runtime.js";

interface KeySummary {
  kid: string;
  alg: string;
  createdAt: string;
  retiredAt: string | null;
  /** signing: signs new tokens; verifying: retired, still in the JWKS; expired: no longer published. */
  status: "signing" | "verifying" | "expired";
}

async function keySummaries({ app }: CliApp): Promise<KeySummary[]> {
  await app.keys.reload();
  const signer = app.keys.signingKey().kid;
  const published = new Set(app.keys.jwks().keys.map((k) => k.kid));
  const docs = await app.models.SigningKey.find().sort({ createdAt: 1 }).lean();
  return docs.map((d) => ({
    kid: d._id,
    alg: d.alg,
    createdAt: new Date(d.createdAt).toISOString(),
    retiredAt: d.retiredAt ? new Date(d.retiredAt).toISOString() : null,
    status: d._id === signer ? "signing" : published.has(d._id) ? "verifying" : "expired",
  }));
}

const list: Command = {
  name: "list",
  summary: "List the signing keys: kid, created, retired, status.",
  synopsis: "",
  positionals: { names: [], required: 0 },
  options: {},
  optionHelp: [],
  details: "status: signing (signs new access tokens), verifying (retired, still in the JWKS until its last token expired), expired.",
  async run(ctx) {
    const keys = await keySummaries(ctx);
    const header = `${"KID".padEnd(18)} ${"CREATED".padEnd(24)} ${"RETIRED".padEnd(24)} STATUS`;
    const rows = keys.map((k) => `${k.kid.padEnd(18)} ${k.createdAt.padEnd(24)} ${(k.retiredAt ?? "-").padEnd(24)} ${k.status}`);
    return { text: [header, ...rows].join("\n"), data: { keys } };
  },
};

const rotate: Command = {
  name: "rotate",
  summary: "Add a new signing key; the previous one retires (keeps verifying until its tokens expire).",
  synopsis: "",
  positionals: { names: [], required: 0 },
  options: {},
  optionHelp: [],
  details: "Running servers pick the new key up at their next key reload (tokens.keyRefreshSeconds), or at once when they see a token signed with it.",
  async run(ctx) {
    const kid = await ctx.app.keys.rotate();
    const keys = await keySummaries(ctx);
    return { text: `new signing key ${kid}; ${keys.filter((k) => k.status === "verifying").length} retired key(s) still verify`, data: { kid, keys } };
  },
};

export const keysGroup: Group = {
  name: "keys",
  summary: "List and rotate the access-token signing keys (published at /.well-known/jwks.json).",
  commands: [list, rotate],
};
