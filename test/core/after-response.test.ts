// The per-request scope that defers work (mail of generic answers) until the response is written.
import { describe, expect, it } from "vitest";
import { afterResponse, withAfterResponse } from "../../src/core/after-response.js";

const nextTurn = () => new Promise((r) => setImmediate(r));

describe("afterResponse", () => {
  it("runs a task deferred inside a request only after the handler has finished, in order", async () => {
    const log: string[] = [];
    await withAfterResponse(async () => {
      afterResponse(() => log.push("mail 1"));
      await Promise.resolve();
      afterResponse(() => log.push("mail 2"));
      await new Promise((r) => setTimeout(r, 5)); // the handler still works (I/O): nothing ran yet
      log.push("response written");
    });
    expect(log).toEqual(["response written"]);
    await nextTurn();
    expect(log).toEqual(["response written", "mail 1", "mail 2"]);
  });

  it("a task deferred by work that outlives its request, or outside any request, still runs", async () => {
    const log: string[] = [];
    let late: Promise<void> = Promise.resolve();
    await withAfterResponse(async () => {
      late = new Promise<void>((resolve) => setTimeout(() => (afterResponse(() => log.push("late")), resolve()), 10));
    });
    await late;
    afterResponse(() => log.push("outside"));
    expect(log).toEqual([]);
    await nextTurn();
    expect(log.sort()).toEqual(["late", "outside"]);
  });

  it("concurrent requests keep their own tasks", async () => {
    const log: string[] = [];
    let release!: () => void;
    const slow = withAfterResponse(async () => {
      afterResponse(() => log.push("slow"));
      await new Promise<void>((r) => (release = r));
    });
    await withAfterResponse(async () => {
      afterResponse(() => log.push("fast"));
    });
    await nextTurn();
    expect(log).toEqual(["fast"]);
    release();
    await slow;
    await nextTurn();
    expect(log).toEqual(["fast", "slow"]);
  });
});
