import type { AuthState, LeanSession, LeanUser } from "./auth-state.js";

/** The authenticated caller of one request. */
export interface Viewer {
  userId: string;
  user: LeanUser;
  session: LeanSession;
  state: AuthState;
  /** "role:<name>" and "perm:<name>" strings, the vocabulary of @requiresScopes. */
  scopes: Set<string>;
  via: "cookie" | "bearer";
}
