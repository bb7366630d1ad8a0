// Authorization declared in the SDL, compiled into graphql-shield rules at start.
//   @public                                  anyone
//   @authenticated                           a live session
//   @requiresScopes(scopes: [["perm:x", "role:y"], ["perm:z"]])   any inner list fully held
//   @policy(policies: [["fresh"], ["self"], ["perm:users-read"]]) any inner list fully satisfied
// Directives on one field are AND-ed (as an Apollo Router does). Root fields with no declaration
// are denied; graphql-shield is kept behind this one function.
import { GraphQLObjectType, isObjectType, valueFromASTUntyped, type GraphQLField, type GraphQLSchema } from "graphql";
import { allow, and, deny, or, rule, shield, type IRules } from "graphql-shield";
/** What graphql-shield accepts as a rule (its ShieldRule type is not exported). */
type IRule = Parameters<typeof and>[0];
import { AppError, CORE } from "./errors.js";
import type { Viewer } from "./viewer.js";
import type { Clock } from "./clock.js";

export const AUTH_DIRECTIVES = ["public", "authenticated", "requiresScopes", "policy"] as const;
const ROOTS = new Set(["Query", "Mutation", "Subscription"]);

export interface AuthzContext {
  viewer: Viewer | null;
  authFailure: string | null;
  /** The app's clock (freshness is measured with it, like every other expiry). */
  clock: Clock;
}

export interface FreshnessSettings {
  maxAgeSeconds: number;
  graceSeconds: number;
  /** Ways to re-verify offered by this deployment (REAUTH_REQUIRED lists them): PASSWORD, CODE, PASSKEY. */
  methods: string[];
}

export interface FieldPolicy {
  public: boolean;
  authenticated: boolean;
  scopes: string[][] | null;
  policies: string[][] | null;
}

export function fieldPolicy(field: GraphQLField<unknown, unknown>): FieldPolicy | null {
  const dirs = field.astNode?.directives ?? [];
  const arg = (name: string, argName: string): string[][] | null => {
    const d = dirs.find((x) => x.name.value === name);
    const a = d?.arguments?.find((x) => x.name.value === argName);
    return a ? (valueFromASTUntyped(a.value) as string[][]) : null;
  };
  const has = (name: string) => dirs.some((d) => d.name.value === name);
  const p: FieldPolicy = { public: has("public"), authenticated: has("authenticated"), scopes: arg("requiresScopes", "scopes"), policies: arg("policy", "policies") };
  return p.public || p.authenticated || p.scopes || p.policies ? p : null;
}

export function buildPermissions(schema: GraphQLSchema, fresh: FreshnessSettings) {
  const cache = new Map<string, IRule>();
  const once = (key: string, make: () => IRule): IRule => {
    let r = cache.get(key);
    if (!r) cache.set(key, (r = make()));
    return r;
  };

  const isAuthenticated = once("authenticated", () =>
    rule("authenticated", { cache: "contextual" })((_p, _a, ctx: AuthzContext) =>
      ctx.viewer ? true : new AppError(CORE.UNAUTHENTICATED, ctx.authFailure ? { reason: ctx.authFailure } : {}),
    ),
  );

  // Denials return false, not an error: or() evaluates every alternative, so building a
  // GraphQLError for each failed one would cost on every allowed request; the fallbackError
  // answers FORBIDDEN once when nothing allows.
  const scopeRule = (scope: string): IRule =>
    once(`scope:${scope}`, () =>
      rule(`scope:${scope}`, { cache: "contextual" })((_p, _a, ctx: AuthzContext) => ctx.viewer?.scopes.has(scope) === true),
    );

  const freshRule = (maxAge: number, grace: number): IRule =>
    once(`fresh:${maxAge}:${grace}`, () =>
      rule(`fresh:${maxAge}:${grace}`, { cache: "contextual" })((_p, _a, ctx: AuthzContext) => {
        const v = ctx.viewer;
        if (!v) return new AppError(CORE.UNAUTHENTICATED);
        const ageSeconds = (ctx.clock.now().getTime() - v.session.freshAt.getTime()) / 1000;
        return ageSeconds <= maxAge + grace
          ? true
          : new AppError(CORE.REAUTH_REQUIRED, { maxAgeSeconds: maxAge, verifiedAt: v.session.freshAt.toISOString(), methods: fresh.methods });
      }),
    );

  // no_cache: the check is one string comparison, while "strict" caching would hash the whole
  // parent document per field (measured: half the CPU of a `me` request).
  const selfRule = once("self", () =>
    rule("self", { cache: "no_cache" })((parent: { _id?: unknown } | null, _a, ctx: AuthzContext) =>
      Boolean(ctx.viewer && parent?._id !== undefined && String(parent._id) === ctx.viewer.userId),
    ),
  );

  const policyRule = (policy: string): IRule => {
    if (policy === "fresh") return freshRule(fresh.maxAgeSeconds, fresh.graceSeconds);
    const m = /^fresh:(\d+)$/.exec(policy);
    if (m) return freshRule(Number(m[1]), 0);
    if (policy === "self") return selfRule;
    if (/^(perm|role):[\w.-]+$/.test(policy)) return scopeRule(policy);
    throw new Error(`unknown @policy "${policy}"`);
  };

  const anyOf = (groups: string[][], leaf: (s: string) => IRule): IRule => {
    const alternatives = groups.map((g) => (g.length === 1 ? leaf(g[0] as string) : and(...g.map(leaf))));
    return alternatives.length === 1 ? (alternatives[0] as IRule) : or(...alternatives);
  };

  const compile = (p: FieldPolicy): IRule => {
    if (p.public) return allow;
    const parts: IRule[] = [isAuthenticated];
    if (p.scopes) parts.push(anyOf(p.scopes, scopeRule));
    if (p.policies) parts.push(anyOf(p.policies, policyRule));
    return parts.length === 1 ? isAuthenticated : and(...parts);
  };

  const rules: Record<string, Record<string, IRule>> = {};
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith("__")) continue;
    const typeRules: Record<string, IRule> = {};
    for (const field of Object.values((type as GraphQLObjectType).getFields())) {
      const policy = fieldPolicy(field);
      if (policy) typeRules[field.name] = compile(policy);
      else if (ROOTS.has(type.name)) {
        // Federation's own root fields: the SDL endpoint is public; entity lookups need a session.
        typeRules[field.name] = field.name === "_service" ? allow : field.name === "_entities" ? isAuthenticated : deny;
      }
    }
    if (Object.keys(typeRules).length) rules[type.name] = typeRules;
  }

  return shield(rules as IRules, {
    allowExternalErrors: true,
    fallbackRule: allow,
    fallbackError: () => new AppError(CORE.FORBIDDEN),
  });
}
