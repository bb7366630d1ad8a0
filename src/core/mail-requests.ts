// The shared front of every "mail me something" mutation (confirmation, recovery, magic links):
// check the address, spend one attempt of the per-address and per-client budget (known address or
// not, so the budget says nothing about existence), then find the account.
import type { Kernel } from "../app.js";
import type { LeanUser } from "./auth-state.js";
import { sha256 } from "./crypto.js";
import { FIELD, InputCheck } from "./errors.js";
import { checkEmail } from "./identity.js";
import type { ClientInfo } from "./sessions.js";

const MAX_EMAIL_INPUT = 320;

export interface MailBudget {
  /** Limiter key prefix; features that share a budget use the same name. */
  name: string;
  perAddress: number;
  perClient: number;
}

/** The account of `email` (active or not), or null; throws BAD_USER_INPUT or RATE_LIMITED first. */
export async function findForMail(k: Kernel, email: string, budget: MailBudget, client: ClientInfo): Promise<LeanUser | null> {
  const check = new InputCheck();
  if (email.length === 0) check.add("email", FIELD.REQUIRED);
  else if (email.length > MAX_EMAIL_INPUT) check.add("email", FIELD.TOO_LONG);
  check.throwIfAny();
  const { emailKey } = checkEmail(check, "email", email, k.config.identity);
  check.throwIfAny();
  const windowSeconds = k.config.rateLimit.windowSeconds;
  await k.limiter.consume(
    { key: `${budget.name}:addr:${sha256(emailKey)}`, rule: { limit: budget.perAddress, windowSeconds } },
    { key: `${budget.name}:ip:${client.ip}`, rule: { limit: budget.perClient, windowSeconds } },
  );
  return k.users.findByEmailKey(emailKey);
}
