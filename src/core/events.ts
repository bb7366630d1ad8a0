// One typed emitter for domain events (Flask-Security's signals). Subscribers (audit log, mail in a
// later feature) never throw into the emitter: a failing subscriber is logged, not propagated.
import type { Logger } from "./logger.js";

export interface EventMap {
  "user.registered": { userId: string; via: "register" | "cli" };
  "user.registerAttemptExisting": { userId: string };
  "user.confirmed": { userId: string };
  "user.loggedIn": { userId: string; sessionId: string; method: string; ip: string };
  "user.loginFailed": { identityHash: string; ip: string; reason: "credentials" | "inactive" | "unconfirmed" | "rate_limited" };
  "user.loggedOut": { userId: string; sessionId: string };
  "user.reauthenticated": { userId: string; sessionId: string; method: string };
  "user.activated": { userId: string; by: string };
  "user.deactivated": { userId: string; by: string };
  "user.accessReset": { userId: string; by: string };
  "password.changed": { userId: string; by: string };
  "email.changeRequested": { userId: string };
  "email.changed": { userId: string };
  "username.changed": { userId: string };
  "password.reset": { userId: string };
  /** Names of the fields that were set or cleared, never their values. */
  "profile.updated": { userId: string; fields: string[] };
  /** The user and everything registered as theirs are gone; `by` is the user, the deleting administrator, or "cli". */
  "user.deleted": { userId: string; by: string };
  "magicLink.used": { userId: string };
  "twoFactor.enabled": { userId: string; method: string };
  "twoFactor.disabled": { userId: string; method: string };
  "twoFactor.codeConfirmed": { userId: string; method: string };
  "twoFactor.failed": { userId: string; method: string };
  "twoFactor.rescueRequested": { userId: string };
  "twoFactor.helpRequested": { userId: string; ip: string };
  "recoveryCode.used": { userId: string; left: number };
  "recoveryCodes.generated": { userId: string };
  "session.revoked": { userId: string; sessionId: string; reason: string };
  "refreshToken.reused": { userId: string; sessionId: string };
  "role.created": { role: string; by: string };
  "role.granted": { userId: string; role: string; by: string };
  "role.revoked": { userId: string; role: string; by: string };
  "role.permissionsChanged": { role: string; added: string[]; removed: string[]; by: string };
  "webauthn.challengeIssued": { purpose: "register" | "signin" | "verify" | "second-factor"; userId: string | null; ip: string };
  "webauthn.registered": { userId: string; credentialId: string; usage: "first" | "secondary" };
  "webauthn.renamed": { userId: string; credentialId: string };
  "webauthn.deleted": { userId: string; credentialId: string };
  "webauthn.used": { userId: string; credentialId: string; purpose: "signin" | "verify"; userVerified: boolean };
  "webauthn.failed": { purpose: "register" | "signin" | "verify" | "second-factor"; reason: string; ip: string; userId: string | null; credentialId: string | null };
  /** A validly signed assertion whose counter did not grow: a cloned authenticator is likely. */
  "webauthn.counterRegression": { userId: string; credentialId: string; storedCounter: number; receivedCounter: number; ip: string };
}

export type EventName = keyof EventMap;
type Handler<K extends EventName> = (payload: EventMap[K]) => void | Promise<void>;

export class EventBus {
  private readonly handlers = new Map<EventName, Handler<never>[]>();
  constructor(private readonly log: Logger) {}

  on<K extends EventName>(name: K, handler: Handler<K>): void {
    const list = this.handlers.get(name) ?? [];
    list.push(handler as Handler<never>);
    this.handlers.set(name, list);
  }

  /** Every event also goes to the audit log at info level. */
  emit<K extends EventName>(name: K, payload: EventMap[K]): void {
    this.log.info({ event: name, ...(payload as Record<string, unknown>) } as Record<string, unknown>, "event");
    for (const h of (this.handlers.get(name) ?? []) as Handler<K>[]) {
      Promise.resolve()
        .then(() => h(payload))
        .catch((err: unknown) => this.log.error({ err, event: name }, "event subscriber failed"));
    }
  }
}
