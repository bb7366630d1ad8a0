import type { Resolvers } from "../../generated/graphql.js";
import { viewerOf } from "../../context.js";

export const accountsResolvers: Resolvers = {
  Query: {
    user: (_p, { input }, ctx) => ctx.app.features.accounts.lookup(input),
  },
  Mutation: {
    setUserActive: (_p, { input }, ctx) => ctx.app.features.accounts.setActive(input.userId, input.active, viewerOf(ctx).userId),
    resetUserAccess: (_p, { input }, ctx) => ctx.app.features.accounts.resetAccess(input.userId, viewerOf(ctx).userId),
  },
};
