import type { Resolvers } from "../../generated/graphql.js";
import { adoptSignIn, viewerOf } from "../../context.js";

export const unifiedSignInResolvers: Resolvers = {
  Mutation: {
    usSendCode: (_p, { input }, ctx) => ctx.app.features.unifiedSignIn.sendCode({ identity: input.identity, method: input.method }, { client: ctx.client, cookies: ctx.cookies }),
    usSignIn: async (_p, { input }, ctx) =>
      adoptSignIn(
        ctx,
        await ctx.app.features.unifiedSignIn.signIn(
          { identity: input.identity, passcode: input.passcode, delivery: input.delivery === "TOKENS" ? "tokens" : "cookie", rememberDeviceToken: input.rememberDeviceToken ?? null },
          { client: ctx.client, cookies: ctx.cookies },
        ),
      ),
    usSendVerifyCode: (_p, { input }, ctx) => ctx.app.features.unifiedSignIn.sendVerifyCode(viewerOf(ctx), input.method),
    usVerify: async (_p, { input }, ctx) => ({ verifiedAt: await ctx.app.features.unifiedSignIn.verify(viewerOf(ctx), input.passcode) }),
  },
};
