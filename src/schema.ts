// Builds the executable subgraph schema: base SDL + the SDL of every enabled feature, their
// resolvers, and the authorization compiled from the SDL's directives.
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse, Kind, type DocumentNode, type GraphQLSchema } from "graphql";
import { buildSubgraphSchema } from "@apollo/subgraph";
import type { GraphQLResolverMap } from "@apollo/subgraph/dist/schema-helper/resolverMap.js";
import { assertResolversPresent } from "@graphql-tools/schema";
import { applyMiddleware } from "graphql-middleware";
import type { Config } from "./config/index.js";
import { buildPermissions } from "./core/authz.js";
import { FEATURES } from "./features/index.js";
import { baseResolvers } from "./base.resolvers.js";
import type { Resolvers } from "./generated/graphql.js";

export const SCHEMA_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "../schema");

const loadSdl = (file: string): DocumentNode => parse(readFileSync(join(SCHEMA_DIR, file), "utf8"));

/** Fails loudly when two SDL files define the same field of the same type. */
export function assertNoDuplicateFields(docs: Array<{ name: string; doc: DocumentNode }>): void {
  const owner = new Map<string, string>();
  for (const { name, doc } of docs) {
    for (const def of doc.definitions) {
      if (!("fields" in def) || !def.fields || !("name" in def) || !def.name) continue;
      if (def.kind !== Kind.OBJECT_TYPE_DEFINITION && def.kind !== Kind.OBJECT_TYPE_EXTENSION && def.kind !== Kind.INPUT_OBJECT_TYPE_DEFINITION) continue;
      for (const f of def.fields) {
        const key = `${def.name.value}.${f.name.value}`;
        const prev = owner.get(key);
        if (prev) throw new Error(`field ${key} is defined by both "${prev}" and "${name}"`);
        owner.set(key, name);
      }
    }
  }
}

function mergeResolvers(list: Array<{ name: string; resolvers: Resolvers }>): Resolvers {
  const out: Record<string, Record<string, unknown>> = {};
  for (const { name, resolvers } of list) {
    for (const [type, fields] of Object.entries(resolvers as Record<string, object>)) {
      // Scalars are class instances, not field maps: take them whole.
      if (type === "DateTime" || type === "EmailAddress") {
        out[type] = fields as Record<string, unknown>;
        continue;
      }
      const target = (out[type] ??= {});
      for (const [field, fn] of Object.entries(fields)) {
        if (field in target) throw new Error(`resolver ${type}.${field} is defined twice (second by "${name}")`);
        target[field] = fn;
      }
    }
  }
  return out as Resolvers;
}

export function buildSchema(config: Config): GraphQLSchema {
  const enabled = FEATURES.filter((f) => f.enabled(config));
  const docs = [{ name: "base", doc: loadSdl("base.graphql") }, ...enabled.map((f) => ({ name: f.name, doc: loadSdl(f.sdl) }))];
  assertNoDuplicateFields(docs);
  const resolvers = mergeResolvers([{ name: "base", resolvers: baseResolvers }, ...enabled]);
  const schema = buildSubgraphSchema(docs.map((d, i) => ({ typeDefs: d.doc, resolvers: (i === 0 ? resolvers : {}) as GraphQLResolverMap<unknown> })));
  // Every field that takes arguments (all root operations do) must have a resolver.
  assertResolversPresent(schema, { requireResolversForArgs: "error", requireResolversForNonScalar: "ignore" });
  // Re-verification operations this deployment offers: verifyPassword, usVerify, wanVerify.
  const methods = ["PASSWORD", ...(enabled.some((f) => f.name === "unified-sign-in") ? ["CODE"] : []), ...(enabled.some((f) => f.name === "webauthn") ? ["PASSKEY"] : [])];
  return applyMiddleware(schema, buildPermissions(schema, { ...config.freshness, methods }));
}
