// Resolvers of schema/base.graphql: scalars, the User entity and shared object types.
import { DateTimeResolver, EmailAddressResolver } from "graphql-scalars";
import type { Resolvers } from "./generated/graphql.js";
import { NO_LOGINS } from "./db/login-tracking.model.js";

export const baseResolvers: Resolvers = {
  DateTime: DateTimeResolver,
  EmailAddress: EmailAddressResolver,
  Query: {
    health: () => true,
  },
  User: {
    __resolveReference: (ref, ctx) => ctx.loaders.user.load(String(ref.id)),
    id: (u) => String(u._id),
    roles: async (u, _a, ctx) => {
      const all = await ctx.app.authState.roles.get();
      return u.roles.flatMap((name) => all.get(name) ?? []);
    },
    permissions: (u, _a, ctx) => ctx.app.authState.roles.permissionsOf(u.roles),
    loginTracking: async (u, _a, ctx) => (await ctx.loaders.tracking.load(String(u._id))) ?? NO_LOGINS,
  },
};
