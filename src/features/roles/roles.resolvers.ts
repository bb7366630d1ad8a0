import type { Resolvers } from "../../generated/graphql.js";
import { viewerOf } from "../../context.js";

export const rolesResolvers: Resolvers = {
  Query: {
    roles: (_p, _a, ctx) => ctx.app.features.roles.list(),
  },
  Mutation: {
    createRole: (_p, { input }, ctx) =>
      ctx.app.features.roles.create({ name: input.name, description: input.description ?? "", permissions: input.permissions ?? [] }, viewerOf(ctx).userId),
    grantRole: (_p, { input }, ctx) => ctx.app.features.roles.grant(input.userId, input.role, viewerOf(ctx).userId),
    revokeRole: (_p, { input }, ctx) => ctx.app.features.roles.revoke(input.userId, input.role, viewerOf(ctx).userId),
    addPermissions: (_p, { input }, ctx) => ctx.app.features.roles.changePermissions(input.role, input.permissions, [], viewerOf(ctx).userId),
    removePermissions: (_p, { input }, ctx) => ctx.app.features.roles.changePermissions(input.role, [], input.permissions, viewerOf(ctx).userId),
  },
};
