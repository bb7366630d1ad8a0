import type { Resolvers } from "../../generated/graphql.js";
import { viewerOf } from "../../context.js";

export const changeEmailResolvers: Resolvers = {
  Mutation: {
    changeEmail: (_p, { input }, ctx) => ctx.app.features.changeEmail.request(viewerOf(ctx), { newEmail: input.newEmail }),
    confirmChangeEmail: (_p, { input }, ctx) => ctx.app.features.changeEmail.confirm(input.token),
  },
};
