import type { Resolvers } from "../../generated/graphql.js";
import { viewerOf } from "../../context.js";

export const deleteAccountResolvers: Resolvers = {
  Mutation: {
    deleteAccount: (_p, { input }, ctx) => ctx.app.features.deleteAccount.deleteOwn(viewerOf(ctx), { password: input.password ?? null }, ctx.cookies),
    deleteUser: async (_p, { input }, ctx) => {
      await ctx.app.features.deleteAccount.deleteByOperator(input.userId, viewerOf(ctx).userId, { waitForMail: false });
      return { deleted: true, message: "The account and everything it held were deleted; its owner is notified." };
    },
  },
};
