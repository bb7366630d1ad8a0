import type { Resolvers } from "../../generated/graphql.js";
import { viewerOf } from "../../context.js";

export const deleteAccountResolvers: Resolvers = {
  Mutation: {
    deleteAccount: (_p, { input }, ctx) => ctx.app.features.deleteAccount.deleteOwn(viewerOf(ctx), { password: input.password ?? null }, ctx.cookies),
  },
};
