import type { Resolvers } from "../../generated/graphql.js";
import { viewerOf } from "../../context.js";

export const changeUsernameResolvers: Resolvers = {
  Mutation: {
    changeUsername: (_p, { input }, ctx) => ctx.app.features.changeUsername.change(viewerOf(ctx), { username: input.username }),
  },
};
