import { describe, expect, test } from "bun:test";
import { backoffDelay } from "../src/consumers/backoff.ts";
import { MAX_RETRY_AFTER_MS, parseRetryAfter } from "../src/consumers/delivery.ts";

const DEFAULTS = { baseMs: 1000, maxMs: 60_000 };

describe("backoffDelay (full jitter)", () => {
  test("the ceiling doubles from the base per attempt and is capped at the max", () => {
    const ceiling = (attempt: number) => backoffDelay(attempt, DEFAULTS, () => 1);
    expect([0, 1, 2, 3, 4, 5, 6, 7, 20].map(ceiling)).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000]);
  });

  test("the delay is random() times the ceiling, floored", () => {
    expect(backoffDelay(0, DEFAULTS, () => 0)).toBe(0);
    expect(backoffDelay(0, DEFAULTS, () => 0.5)).toBe(500);
    expect(backoffDelay(3, DEFAULTS, () => 0.25)).toBe(2000);
    expect(backoffDelay(9, DEFAULTS, () => 0.999)).toBe(59_940);
  });

  test("huge attempt numbers stay at the cap (no Infinity, no NaN)", () => {
    expect(backoffDelay(5000, DEFAULTS, () => 0.5)).toBe(30_000);
  });

  test("a negative attempt is treated as the first", () => {
    expect(backoffDelay(-3, DEFAULTS, () => 0.5)).toBe(500);
  });

  test("with Math.random every delay lies in [0, ceiling)", () => {
    for (let attempt = 0; attempt < 10; attempt++) {
      const ceiling = Math.min(60_000, 1000 * 2 ** attempt);
      for (let i = 0; i < 200; i++) {
        const delay = backoffDelay(attempt, DEFAULTS, Math.random);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThan(ceiling);
      }
    }
  });
});

describe("parseRetryAfter", () => {
  const now = Date.parse("2025-01-15T10:30:00.000Z");

  test("delay-seconds", () => {
    expect(parseRetryAfter("0", now)).toBe(0);
    expect(parseRetryAfter("1", now)).toBe(1000);
    expect(parseRetryAfter(" 120 ", now)).toBe(120_000);
  });

  test("an HTTP date, relative to now; a past date is 0", () => {
    expect(parseRetryAfter("Wed, 15 Jan 2025 10:30:30 GMT", now)).toBe(30_000);
    expect(parseRetryAfter("Wed, 15 Jan 2025 10:00:00 GMT", now)).toBe(0);
  });

  test("absent or malformed → null; absurd values are capped", () => {
    expect(parseRetryAfter(null, now)).toBeNull();
    expect(parseRetryAfter("soon", now)).toBeNull();
    expect(parseRetryAfter("-5", now)).toBeNull();
    expect(parseRetryAfter("99999999999", now)).toBe(MAX_RETRY_AFTER_MS);
  });
});
