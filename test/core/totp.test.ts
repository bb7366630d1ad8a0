// RFC 6238 appendix B test vectors (SHA-1, 8 digits) against the project's TOTP verification, and
// the tests' own generator against the same vectors.
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../src/core/clock.js";
import { Totp } from "../../src/core/totp.js";
import { totpAt } from "../support/totp.js";

// "12345678901234567890" in base32.
const SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
const VECTORS: Array<[number, string]> = [
  [59, "94287082"],
  [1111111109, "07081804"],
  [1111111111, "14050471"],
  [1234567890, "89005924"],
  [2000000000, "69279037"],
  [20000000000, "65353130"],
];

describe("TOTP (RFC 6238)", () => {
  it.each(VECTORS)("at T=%i the code %s is accepted, for its own step only", async (t, code) => {
    const clock = new ManualClock(t * 1000);
    const strict = new Totp(clock, 8, 0);
    expect(await strict.match(SECRET, code)).toBe(Math.floor(t / 30));
    clock.advance(60_000);
    expect(await strict.match(SECRET, code)).toBeNull();
    expect(totpAt(Buffer.from("12345678901234567890"), t, 8)).toBe(code);
  });

  it("the drift window accepts the neighbouring steps only", async () => {
    const clock = new ManualClock(1111111111 * 1000);
    const totp = new Totp(clock, 8, 1);
    clock.advance(30_000);
    expect(await totp.match(SECRET, "14050471")).toBe(Math.floor(1111111111 / 30));
    clock.advance(30_000);
    expect(await totp.match(SECRET, "14050471")).toBeNull();
  });

  it("refuses malformed codes without throwing", async () => {
    const totp = new Totp(new ManualClock(59_000), 8, 1);
    for (const bad of ["", "9428708", "942870820", "9428708a", " 94287082", "๙4287082"]) expect(await totp.match(SECRET, bad)).toBeNull();
  });
});
