import type { BenchContext } from "../lib/context.ts";
import { bytesUnder, createStore, type StoreDirs } from "../lib/fixture.ts";
import { int, mib, ms, renderTable } from "../lib/format.ts";
import { rssBytes } from "../lib/proc.ts";
import { startServer } from "../lib/server-process.ts";
import { median } from "../lib/stats.ts";

export interface StartupSample {
  storedEvents: number;
  /** Spawn → first 200 from /health, per start. */
  readyMs: number[];
  medianReadyMs: number;
  /** RSS right after the last start. */
  rssBytes: number;
}

export interface StartupResult {
  empty: StartupSample;
  large: StartupSample;
  /** Segment bytes per event of the large (batch-seeded) store. */
  diskBytesPerEvent: number;
}

/** Cold starts, repeated: the median is shown, every start is kept in the JSON. */
export async function runStartup(ctx: BenchContext, large: { store: StoreDirs; events: number }): Promise<StartupResult> {
  const empty = createStore("startup-empty");
  try {
    ctx.progress("start-up: empty store");
    const emptySample = await measureStarts(ctx, empty, 0);
    ctx.progress(`start-up: ${int(large.events)} events`);
    const largeSample = await measureStarts(ctx, large.store, large.events);
    return { empty: emptySample, large: largeSample, diskBytesPerEvent: bytesUnder(large.store.dataDir) / large.events };
  } finally {
    empty.remove();
  }
}

async function measureStarts(ctx: BenchContext, store: StoreDirs, storedEvents: number): Promise<StartupSample> {
  const readyMs: number[] = [];
  let rss = Number.NaN;
  for (let i = 0; i < ctx.plan.startupRepeats; i++) {
    const server = await startServer(ctx.ours, store.env);
    readyMs.push(server.readyMs);
    rss = rssBytes(server.pid);
    await server.stop();
  }
  return { storedEvents, readyMs, medianReadyMs: median(readyMs), rssBytes: rss };
}

export function startupTable(result: StartupResult): string {
  const row = (s: StartupSample) => [
    `${int(s.storedEvents)} events`,
    ms(s.medianReadyMs, 0),
    `${ms(Math.min(...s.readyMs), 0)}–${ms(Math.max(...s.readyMs), 0)}`,
    String(s.readyMs.length),
    mib(s.rssBytes),
  ];
  return [
    renderTable(
      "Start-up: spawn → first 200 from GET /health (ms)",
      ["store", "median", "range", "starts", "RSS after start"],
      [row(result.empty), row(result.large)],
    ),
    `Bytes on disk per event (store seeded in 10 000-event batches): ${result.diskBytesPerEvent.toFixed(1)}`,
  ].join("\n");
}
