import type { Kernel } from "../../app.js";
import { AppError } from "../../core/errors.js";
import { USERS } from "../../core/users.js";
import type { AcceptedResult, SignedInResult } from "../../core/sign-in.js";
import type { SessionDelivery } from "../../db/session.model.js";
import type { RequestInfo } from "../auth/auth.service.js";
import type { ConfirmationService } from "../confirmation/confirmation.service.js";

export interface RegisterInput {
  email: string;
  password: string;
  username?: string | null;
  delivery: SessionDelivery;
}

const ACCEPTED: AcceptedResult = {
  __typename: "RegistrationAccepted",
  accepted: true,
  message: "Thank you. If this address can be registered, the account is ready: sign in to continue.",
};
const ACCEPTED_CONFIRM: AcceptedResult = {
  __typename: "RegistrationAccepted",
  accepted: true,
  message: "Thank you. A message is on its way to this address: follow its link to confirm it, then sign in.",
};

export class RegistrationService {
  constructor(private readonly k: Kernel, private readonly confirmation: ConfirmationService) {}

  private get accepted(): AcceptedResult {
    return this.k.config.confirmation.enabled ? ACCEPTED_CONFIRM : ACCEPTED;
  }

  /**
   * Roles are never taken from the input (RegisterInput has no such field, and unknown input
   * fields are refused by GraphQL itself). With generic responses a new and an existing email get
   * the same answer in the same time (one bcrypt hash each), and nobody is signed in here.
   */
  async register(input: RegisterInput, req: RequestInfo): Promise<SignedInResult | AcceptedResult> {
    const rl = this.k.config.rateLimit;
    await this.k.limiter.consume({ key: `register:ip:${req.client.ip}`, rule: { limit: rl.registerPerClient, windowSeconds: rl.windowSeconds } });
    const outcome = await this.k.users.create({ ...input, roles: this.k.config.registration.defaultRoles });
    if ("existingEmail" in outcome) {
      this.k.events.emit("user.registerAttemptExisting", { userId: String(outcome.existingEmail._id) });
      await this.confirmation.registerAttempted(outcome.existingEmail); // mails its owner, in the background
      if (this.k.config.genericResponses) return this.accepted;
      throw new AppError(USERS.EMAIL_ALREADY_ASSOCIATED, { fieldErrors: [{ field: "email", ...USERS.EMAIL_ALREADY_ASSOCIATED }] });
    }
    this.k.events.emit("user.registered", { userId: String(outcome.created._id), via: "register" });
    await this.confirmation.registered(outcome.created); // confirmation link or welcome mail, in the background
    // Signing in here would skip the second-factor gate: with second factors required, the new user
    // signs in with login and sets one up inside that sign-in.
    const twoFactorRequired = this.k.config.twoFactor.enabled && this.k.config.twoFactor.required;
    if (this.k.config.genericResponses || this.confirmation.requiredForLogin || twoFactorRequired) return this.accepted;
    return this.k.signIn.complete(outcome.created, { delivery: input.delivery, method: "pwd", ...req });
  }
}
