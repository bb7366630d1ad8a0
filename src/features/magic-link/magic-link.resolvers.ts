import type { Resolvers } from "../../generated/graphql.js";
import { adoptSignIn } from "../../context.js";

export const magicLinkResolvers: Resolvers = {
  Mutation: {
    requestSignInLink: (_p, { input }, ctx) => ctx.app.features.magicLink.request({ email: input.email }, { client: ctx.client, cookies: ctx.cookies }),
    signInWithLink: async (_p, { input }, ctx) =>
      adoptSignIn(
        ctx,
        await ctx.app.features.magicLink.signIn(
          { token: input.token, delivery: input.delivery === "TOKENS" ? "tokens" : "cookie", rememberDeviceToken: input.rememberDeviceToken ?? null },
          { client: ctx.client, cookies: ctx.cookies },
        ),
      ),
  },
};
