import type { Resolvers } from "../../generated/graphql.js";
import { adoptSignIn, viewerOf } from "../../context.js";

export const twoFactorResolvers: Resolvers = {
  Query: {
    twoFactor: (_p, _a, ctx) => ctx.app.features.twoFactor.status(viewerOf(ctx)),
  },
  Mutation: {
    setupTwoFactor: (_p, { input }, ctx) => ctx.app.features.twoFactor.setup(viewerOf(ctx), { method: input.method, phone: input.phone ?? null }),
    confirmTwoFactorSetup: (_p, { input }, ctx) => ctx.app.features.twoFactor.confirmSetup(viewerOf(ctx), input.code),
    disableTwoFactor: (_p, { input }, ctx) => ctx.app.features.twoFactor.disable(viewerOf(ctx), input.method ?? null),
    generateRecoveryCodes: (_p, _a, ctx) => ctx.app.features.twoFactor.generateRecoveryCodes(viewerOf(ctx)),
    setupTwoFactorInFlow: (_p, { input }, ctx) => ctx.app.features.twoFactor.setupInFlow({ flowId: input.flowId, method: input.method, phone: input.phone ?? null }),
    sendTwoFactorCode: (_p, { input }, ctx) => ctx.app.features.twoFactor.sendFlowCode({ flowId: input.flowId, method: input.method }),
    requestTwoFactorHelp: (_p, { input }, ctx) => ctx.app.features.twoFactor.requestHelp(input.flowId, ctx.client),
    verifyTwoFactor: async (_p, { input }, ctx) =>
      adoptSignIn(
        ctx,
        await ctx.app.features.twoFactor.verifyFlow(
          { flowId: input.flowId, method: input.method, code: input.code, rememberDevice: input.rememberDevice ?? false },
          { client: ctx.client, cookies: ctx.cookies },
        ),
      ),
  },
};
