import type { Resolvers } from "../../generated/graphql.js";
import { adoptSignIn, viewerOf } from "../../context.js";

const delivery = (d: "COOKIE" | "TOKENS" | null | undefined): "tokens" | "cookie" => (d === "TOKENS" ? "tokens" : "cookie");

export const authResolvers: Resolvers = {
  Query: {
    me: (_p, _a, ctx) => viewerOf(ctx).user,
    sessions: (_p, _a, ctx) => ctx.app.features.auth.listSessions(viewerOf(ctx)),
  },
  Mutation: {
    login: async (_p, { input }, ctx) =>
      adoptSignIn(ctx, await ctx.app.features.auth.login({ ...input, delivery: delivery(input.delivery) }, { client: ctx.client, cookies: ctx.cookies })),
    logout: (_p, _a, ctx) => ctx.app.features.auth.logout(viewerOf(ctx), ctx.cookies),
    refreshToken: (_p, { input }, ctx) => ctx.app.features.auth.refresh(input.refreshToken),
    verifyPassword: async (_p, { input }, ctx) => ({ verifiedAt: await ctx.app.features.auth.verifyPassword(viewerOf(ctx), input.password) }),
    revokeSession: (_p, { input }, ctx) => ctx.app.features.auth.revokeSession(viewerOf(ctx), input.id, ctx.cookies),
    revokeOtherSessions: (_p, _a, ctx) => ctx.app.features.auth.revokeOtherSessions(viewerOf(ctx)),
  },
  TokenPayload: {
    tokenType: () => "Bearer",
  },
  Session: {
    id: (s) => String(s._id),
    current: (s, _a, ctx) => String(s._id) === String(ctx.viewer?.session._id),
    authenticatedAt: (s) => s.authTime,
    verifiedAt: (s) => s.freshAt,
    methods: (s) => s.amr,
    delivery: (s) => (s.delivery === "tokens" ? "TOKENS" : "COOKIE"),
  },
};
