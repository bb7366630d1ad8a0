import DataLoader from "dataloader";
import type { Resolvers } from "../../generated/graphql.js";
import type { GraphQLContext } from "../../context.js";
import { viewerOf } from "../../context.js";
import type { ProfileView } from "./profile.service.js";

/** One loader per request (kept beside the context, so the shared context type needs no field). */
const loaders = new WeakMap<GraphQLContext, DataLoader<string, ProfileView>>();
const profileLoader = (ctx: GraphQLContext): DataLoader<string, ProfileView> => {
  let l = loaders.get(ctx);
  if (!l) loaders.set(ctx, (l = new DataLoader((ids: readonly string[]) => ctx.app.features.profile.getMany(ids))));
  return l;
};

export const profileResolvers: Resolvers = {
  User: {
    profile: (u, _a, ctx) => profileLoader(ctx).load(String(u._id)),
  },
  Mutation: {
    updateProfile: (_p, { input }, ctx) => ctx.app.features.profile.update(viewerOf(ctx), input),
  },
};
