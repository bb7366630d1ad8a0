import type { Resolvers } from "../../generated/graphql.js";

export const recoveryResolvers: Resolvers = {
  Mutation: {
    requestPasswordReset: (_p, { input }, ctx) => ctx.app.features.recovery.requestReset({ email: input.email }, { client: ctx.client, cookies: ctx.cookies }),
    resetPassword: (_p, { input }, ctx) => ctx.app.features.recovery.reset({ token: input.token, password: input.password }),
    recoverUsername: (_p, { input }, ctx) => ctx.app.features.recovery.recoverUsername({ email: input.email }, { client: ctx.client, cookies: ctx.cookies }),
  },
};
