import type { Resolvers } from "../../generated/graphql.js";
import { adoptSignIn } from "../../context.js";

export const registrationResolvers: Resolvers = {
  Mutation: {
    register: async (_p, { input }, ctx) =>
      adoptSignIn(ctx, await ctx.app.features.registration.register(
        { email: input.email, password: input.password, username: input.username ?? null, delivery: input.delivery === "TOKENS" ? "tokens" : "cookie" },
        { client: ctx.client, cookies: ctx.cookies },
      )),
  },
};
