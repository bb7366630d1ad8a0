// The feature registry: each feature has one SDL file in schema/ and one folder here. A disabled
// feature's SDL is not loaded, so its operations do not exist.
import type { Config } from "../config/index.js";
import type { Resolvers } from "../generated/graphql.js";
import { authResolvers } from "./auth/auth.resolvers.js";
import { registrationResolvers } from "./registration/registration.resolvers.js";
import { rolesResolvers } from "./roles/roles.resolvers.js";
import { accountsResolvers } from "./accounts/accounts.resolvers.js";
import { changePasswordResolvers } from "./change-password/change-password.resolvers.js";
import { confirmationResolvers } from "./confirmation/confirmation.resolvers.js";
import { changeEmailResolvers } from "./change-email/change-email.resolvers.js";
import { changeUsernameResolvers } from "./change-username/change-username.resolvers.js";
import { recoveryResolvers } from "./recovery/recovery.resolvers.js";
import { profileResolvers } from "./profile/profile.resolvers.js";
import { deleteAccountResolvers } from "./delete-account/delete-account.resolvers.js";
import { webauthnResolvers } from "./webauthn/webauthn.resolvers.js";
import { magicLinkResolvers } from "./magic-link/magic-link.resolvers.js";
import { twoFactorResolvers } from "./two-factor/two-factor.resolvers.js";
import { unifiedSignInResolvers } from "./unified-sign-in/unified-sign-in.resolvers.js";

export interface FeatureModule {
  name: string;
  /** File name under schema/. */
  sdl: string;
  enabled(config: Config): boolean;
  resolvers: Resolvers;
}

export const FEATURES: FeatureModule[] = [
  { name: "auth", sdl: "auth.graphql", enabled: () => true, resolvers: authResolvers },
  { name: "registration", sdl: "registration.graphql", enabled: (c) => c.registration.enabled, resolvers: registrationResolvers },
  { name: "roles", sdl: "roles.graphql", enabled: () => true, resolvers: rolesResolvers },
  { name: "accounts", sdl: "accounts.graphql", enabled: () => true, resolvers: accountsResolvers },
  { name: "change-password", sdl: "change-password.graphql", enabled: (c) => c.changePassword.enabled, resolvers: changePasswordResolvers },
  { name: "confirmation", sdl: "confirmation.graphql", enabled: (c) => c.confirmation.enabled, resolvers: confirmationResolvers },
  { name: "change-email", sdl: "change-email.graphql", enabled: (c) => c.changeEmail.enabled, resolvers: changeEmailResolvers },
  { name: "change-username", sdl: "change-username.graphql", enabled: (c) => c.changeUsername.enabled && c.registration.usernameEnabled, resolvers: changeUsernameResolvers },
  { name: "recovery", sdl: "recovery.graphql", enabled: (c) => c.recovery.enabled, resolvers: recoveryResolvers },
  { name: "profile", sdl: "profile.graphql", enabled: (c) => c.profile.enabled, resolvers: profileResolvers },
  { name: "delete-account", sdl: "delete-account.graphql", enabled: (c) => c.deleteAccount.enabled, resolvers: deleteAccountResolvers },
  { name: "webauthn", sdl: "webauthn.graphql", enabled: (c) => c.webauthn.enabled, resolvers: webauthnResolvers },
  { name: "magic-link", sdl: "magic-link.graphql", enabled: (c) => c.magicLink.enabled, resolvers: magicLinkResolvers },
  { name: "two-factor", sdl: "two-factor.graphql", enabled: (c) => c.twoFactor.enabled, resolvers: twoFactorResolvers },
  // Its CodeSent answer type lives in two-factor.graphql, and it finds users by their SMS factor.
  { name: "unified-sign-in", sdl: "unified-sign-in.graphql", enabled: (c) => c.unifiedSignIn.enabled && c.twoFactor.enabled, resolvers: unifiedSignInResolvers },
];
