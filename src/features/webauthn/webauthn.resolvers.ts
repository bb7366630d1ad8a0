import type { Resolvers } from "../../generated/graphql.js";
import { adoptSignIn, viewerOf, type GraphQLContext } from "../../context.js";

const delivery = (d: "COOKIE" | "TOKENS" | null | undefined): "tokens" | "cookie" => (d === "TOKENS" ? "tokens" : "cookie");
const req = (ctx: GraphQLContext) => ({ client: ctx.client, cookies: ctx.cookies });

export const webauthnResolvers: Resolvers = {
  Query: {
    wanCredentials: (_p, _a, ctx) => ctx.app.features.webauthn.list(viewerOf(ctx).user._id),
  },
  Mutation: {
    wanRegisterOptions: (_p, { input }, ctx) =>
      ctx.app.features.webauthn.registerOptions(viewerOf(ctx), { name: input.name, usage: input.usage === "SECONDARY" ? "secondary" : "first" }, req(ctx)),
    wanRegister: async (_p, { input }, ctx) => ({ credential: await ctx.app.features.webauthn.register(viewerOf(ctx), { credential: input.credential }, req(ctx)) }),
    wanSignInOptions: (_p, { input }, ctx) => ctx.app.features.webauthn.signInOptions({ identity: input?.identity ?? null }, req(ctx)),
    wanSignIn: async (_p, { input }, ctx) =>
      adoptSignIn(ctx, await ctx.app.features.webauthn.signIn({ credential: input.credential, delivery: delivery(input.delivery) }, req(ctx))),
    wanSecondFactorOptions: (_p, { input }, ctx) => ctx.app.features.webauthn.secondFactorOptions(input.flowId, req(ctx)),
    wanSecondFactor: async (_p, { input }, ctx) => adoptSignIn(ctx, await ctx.app.features.webauthn.secondFactor({ flowId: input.flowId, credential: input.credential }, req(ctx))),
    wanVerifyOptions: (_p, _a, ctx) => ctx.app.features.webauthn.verifyOptions(viewerOf(ctx), req(ctx)),
    wanVerify: async (_p, { input }, ctx) => ({ verifiedAt: await ctx.app.features.webauthn.verify(viewerOf(ctx), { credential: input.credential }, req(ctx)) }),
    wanRename: (_p, { input }, ctx) => ctx.app.features.webauthn.rename(viewerOf(ctx), { id: input.id, name: input.name }),
    wanDelete: (_p, { input }, ctx) => ctx.app.features.webauthn.remove(viewerOf(ctx), { id: input.id }),
  },
  WebAuthnCredential: {
    id: (c) => c._id,
    usage: (c) => (c.usage === "secondary" ? "SECONDARY" : "FIRST"),
    lastUsedAt: (c) => c.lastUsedAt ?? null,
    signCount: (c) => c.counter,
    backupEligible: (c) => c.deviceType === "multiDevice",
  },
};
