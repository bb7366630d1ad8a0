// Resolvers of schema/base.graphql: scalars, the User entity and shared object types.
import { DateTimeResolver, EmailAddressResolver } from "graphql-scalars";
import type { Resolvers } from "./generated/graphql.js";

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
    loginTracking: (u) => ({
      lastLoginAt: u.lastLoginAt ?? null,
      lastLoginIp: u.lastLoginIp ?? null,
      currentLoginAt: u.currentLoginAt ?? null,
      currentLoginIp: u.currentLoginIp ?? null,
      loginCount: u.loginCount,
    }),
  },
};
