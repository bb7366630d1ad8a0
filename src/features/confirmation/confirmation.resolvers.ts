import type { Resolvers } from "../../generated/graphql.js";

export const confirmationResolvers: Resolvers = {
  Mutation: {
    confirmEmail: (_p, { input }, ctx) => ctx.app.features.confirmation.confirm(input.token),
    sendConfirmation: (_p, { input }, ctx) => ctx.app.features.confirmation.resend({ email: input.email }, { client: ctx.client, cookies: ctx.cookies }),
  },
};
