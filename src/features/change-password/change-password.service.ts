import type { Kernel } from "../../app.js";
import { AppError, FIELD, InputCheck } from "../../core/errors.js";
import type { Viewer } from "../../core/viewer.js";
import type { SignedInResult } from "../../core/sign-in.js";
import type { RequestInfo } from "../auth/auth.service.js";
import { AUTH } from "../auth/auth.errors.js";
import { CHANGE_PASSWORD } from "./change-password.errors.js";
import { reverifyBudget } from "../../core/sign-in.js";

export class ChangePasswordService {
  constructor(private readonly k: Kernel) {}

  /** Rotates the uniquifier (all sessions and tokens die), then signs the caller in again. */
  async change(viewer: Viewer, input: { currentPassword: string; newPassword: string }, req: RequestInfo): Promise<SignedInResult> {
    const check = new InputCheck();
    if (input.currentPassword.length === 0) check.add("currentPassword", FIELD.REQUIRED);
    else if (input.currentPassword.length > this.k.config.passwords.maxLength * 4) check.add("currentPassword", FIELD.TOO_LONG);
    const normalized = this.k.passwords.check(check, "newPassword", input.newPassword);
    check.throwIfAny();
    await this.k.limiter.consume(reverifyBudget(viewer.userId, this.k.config.rateLimit));
    const user = await this.k.models.User.findById(viewer.user._id).select("+passwordHash").lean();
    if (!(await this.k.passwords.verify(input.currentPassword, user?.passwordHash))) throw new AppError(AUTH.INVALID_PASSWORD);
    if (await this.k.passwords.verify(normalized, user?.passwordHash)) throw new AppError(CHANGE_PASSWORD.PASSWORD_IS_THE_SAME);
    const updated = await this.k.users.setPassword(viewer.user._id, normalized);
    this.k.events.emit("password.changed", { userId: viewer.userId, by: viewer.userId });
    return this.k.signIn.complete(updated, { delivery: viewer.session.delivery, method: "pwd", ...req });
  }
}
