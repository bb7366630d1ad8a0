// Work that must not delay the answer, or show in its timing: the mail a generic answer causes for
// an existing account (and not for an unknown one) is rendered and handed to SMTP only after the
// response has been written. The HTTP handler opens a scope per request; a task deferred inside
// it runs after the handler finished. Outside a request (the CLI, timers), or once the scope has
// closed, a task runs on the next turn of the event loop.
import { AsyncLocalStorage } from "node:async_hooks";

interface Scope {
  tasks: Array<() => void>;
  closed: boolean;
}

const scopes = new AsyncLocalStorage<Scope>();

/** Runs `handler` (which writes the response) in a scope; the tasks deferred in it run afterwards. */
export async function withAfterResponse<T>(handler: () => Promise<T>): Promise<T> {
  const scope: Scope = { tasks: [], closed: false };
  try {
    return await scopes.run(scope, handler);
  } finally {
    scope.closed = true;
    const tasks = scope.tasks.splice(0);
    if (tasks.length) setImmediate(() => tasks.forEach((task) => task()));
  }
}

/** Defers `task` until the current response is written (or to the next turn outside a request). */
export function afterResponse(task: () => void): void {
  const scope = scopes.getStore();
  if (scope && !scope.closed) scope.tasks.push(task);
  else setImmediate(task);
}
