import type { Resolvers } from "../../generated/graphql.js";
import { adoptSignIn, viewerOf } from "../../context.js";

export const changePasswordResolvers: Resolvers = {
  Mutation: {
    changePassword: async (_p, { input }, ctx) =>
      adoptSignIn(ctx, await ctx.app.features.changePassword.change(viewerOf(ctx), input, { client: ctx.client, cookies: ctx.cookies })),
  },
};
