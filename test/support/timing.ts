// Side-by-side timing of requests for the security tests that compare two paths (a known and an
// unknown account): interleaved rounds and paired medians, so that drift in the load of this
// shared machine hits both sides alike and cancels.
import { performance } from "node:perf_hooks";
import type { GqlResponse } from "./server.js";

export const median = (xs: number[]): number => {
  const v = [...xs].sort((a, b) => a - b);
  const m = v.length >> 1;
  return v.length % 2 ? (v[m] as number) : ((v[m - 1] as number) + (v[m] as number)) / 2;
};

/**
 * Median over rounds of (a − b), where a[i] and b[i] ran back to back in round i: slow drift in the
 * machine's load hits both sides of a pair alike and cancels.
 */
export const pairedMedianDifference = (a: number[], b: number[]): number => median(a.map((x, i) => x - (b[i] as number)));

export interface Samples<T = GqlResponse> {
  times: number[];
  responses: T[];
}

/**
 * Runs each kind of request once per round, one request at a time, rotating which kind goes first
 * so that drift in machine load hits every kind alike. Returns wall-clock times per kind.
 * `settle`, if given, runs after each request, untimed (e.g. until its background mail arrived).
 */
export async function interleaved<T = GqlResponse>(
  kinds: Record<string, () => Promise<T>>,
  rounds: number,
  settle?: (name: string, response: T) => Promise<void>,
): Promise<Record<string, Samples<T>>> {
  const names = Object.keys(kinds);
  const out: Record<string, Samples<T>> = Object.fromEntries(names.map((n) => [n, { times: [], responses: [] }]));
  for (let round = 0; round < rounds; round++) {
    for (let j = 0; j < names.length; j++) {
      const name = names[(round + j) % names.length] as string;
      const t0 = performance.now();
      const r = await (kinds[name] as () => Promise<T>)();
      out[name]!.times.push(performance.now() - t0);
      out[name]!.responses.push(r);
      if (settle) await settle(name, r);
    }
  }
  return out;
}
