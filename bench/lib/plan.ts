/** What one run measures and for how long; `quick` must finish in under 3 minutes. */
export interface BenchPlan {
  mode: "quick" | "full";
  /**
   * Seconds of load on each server before a publish case is measured, so JIT
   * and caches are warm. Our server's hot path reaches its final JIT tier
   * after 3-5 s of load; the ceiling's, being a few lines, almost at once.
   */
  warmupS: number;
  durationS: number;
  /** Measured runs per row; the table shows their median. */
  repeats: number;
  /** Tries per measured run when other processes make it noisy (see runMeasuredLoad). */
  maxAttempts: number;
  publishCases: PublishCase[];
  /** Stored events for the tail-read rows; the largest also gets the scan, start-up and RSS rows. */
  readSizes: number[];
  /** Used instead of 1 000 000 in quick mode when seeding is too slow for the time budget. */
  fallbackLargeSize: number;
  readConnections: number[];
  startupRepeats: number;
  delivery: DeliveryPlan;
}

export interface PublishCase {
  label: string;
  connections: number;
  batch: number;
}

export interface DeliveryPlan {
  /** Events published one by one for the latency rows. */
  latencyEvents: number;
  /** Pause between those publishes, so the rows measure latency, not a backlog. */
  latencyGapMs: number;
  consumerCounts: number[];
  catchUpEvents: number;
  idleSeconds: number;
}

const PUBLISH_CASES: PublishCase[] = [
  { label: "1 event/req, 1 conn", connections: 1, batch: 1 },
  { label: "1 event/req, 16 conns", connections: 16, batch: 1 },
  { label: "1 event/req, 64 conns", connections: 64, batch: 1 },
  { label: "100 events/req, 16 conns", connections: 16, batch: 100 },
];

export function planFor(full: boolean): BenchPlan {
  if (full) {
    return {
      mode: "full",
      warmupS: 5,
      durationS: 6,
      repeats: 5,
      maxAttempts: 3,
      publishCases: PUBLISH_CASES,
      readSizes: [10_000, 100_000, 1_000_000],
      fallbackLargeSize: 1_000_000,
      readConnections: [1, 16],
      startupRepeats: 5,
      delivery: { latencyEvents: 500, latencyGapMs: 10, consumerCounts: [1, 20], catchUpEvents: 1_000_000, idleSeconds: 10 },
    };
  }
  return {
    mode: "quick",
    warmupS: 3,
    durationS: 3,
    repeats: 2,
    // Two tries keep the worst case (every run noisy) under the 3-minute budget.
    maxAttempts: 2,
    publishCases: PUBLISH_CASES,
    readSizes: [10_000, 1_000_000],
    fallbackLargeSize: 100_000,
    readConnections: [1, 16],
    startupRepeats: 3,
    delivery: { latencyEvents: 100, latencyGapMs: 10, consumerCounts: [1, 20], catchUpEvents: 100_000, idleSeconds: 10 },
  };
}
