import type { BenchContext } from "../lib/context.ts";
import { TOPIC, createStore, type StoreDirs } from "../lib/fixture.ts";
import { int, mib, ms, percent, renderTable } from "../lib/format.ts";
import { type MeasuredLoad, runLoad, runMeasuredLoad } from "../lib/load.ts";
import { rssBytes } from "../lib/proc.ts";
import { type ScanResult, scanTopic } from "../lib/scan.ts";
import { seedStore } from "../lib/seed.ts";
import { startServer } from "../lib/server-process.ts";
import { median } from "../lib/stats.ts";

const TAIL_PAGE = 10;
/** Seeding slower than this in quick mode uses the plan's smaller "large" store. */
const QUICK_SEED_BUDGET_MS = 45_000;

export interface TailRead {
  connections: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  serverCpuPct: number;
  noiseCpuPct: number;
  runs: MeasuredLoad[];
}

export interface ReadRow {
  storedEvents: number;
  seedMs: number;
  tail: TailRead[];
  /** Only for the largest store: one page from the oldest segment, before and after (median of 5) its index is cached. */
  oldPageColdMs?: number;
  oldPageWarmMs?: number;
  scanCold?: ScanResult;
  scanWarm?: ScanResult;
  rssAfterStartBytes: number;
  rssAfterScanBytes?: number;
}

/**
 * Tail reads per store size (the next page near the head should cost the same
 * at any history length) and, on the largest store, full scans. The largest
 * store is handed back, server stopped, for the start-up rows.
 */
export async function runRead(ctx: BenchContext): Promise<{ rows: ReadRow[]; largest: { store: StoreDirs; events: number } }> {
  const rows: ReadRow[] = [];
  const sizes = [...ctx.plan.readSizes];
  let largest: { store: StoreDirs; events: number } | null = null;
  for (let i = 0; i < sizes.length; i++) {
    const size = sizes[i]!;
    const isLargest = i === sizes.length - 1;
    ctx.progress(`read: seeding ${int(size)} events`);
    const store = createStore(`read-${size}`);
    try {
      const { ms: seedMs } = await seedStore(store.dataDir, size);
      if (ctx.plan.mode === "quick" && i === 0 && sizes.length > 1) {
        // Extrapolate from the first (small) store; its time includes process start, so this errs high.
        const predicted = (seedMs / size) * sizes[sizes.length - 1]!;
        if (predicted > QUICK_SEED_BUDGET_MS) sizes[sizes.length - 1] = ctx.plan.fallbackLargeSize;
      }
      const row = await measureStore(ctx, store, size, seedMs, isLargest);
      rows.push(row);
      if (isLargest) largest = { store, events: size };
    } finally {
      if (!isLargest) store.remove();
    }
  }
  return { rows, largest: largest! };
}

async function measureStore(ctx: BenchContext, store: StoreDirs, size: number, seedMs: number, withScan: boolean): Promise<ReadRow> {
  const server = await startServer(ctx.ours, store.env);
  try {
    const row: ReadRow = { storedEvents: size, seedMs, tail: [], rssAfterStartBytes: rssBytes(server.pid) };
    const path = `/topics/${TOPIC}/events?sinceEventId=${TOPIC}-${size - TAIL_PAGE}&limit=${TAIL_PAGE}`;
    await assertPageSize(server.url + path, TAIL_PAGE);
    for (const connections of ctx.plan.readConnections) {
      ctx.progress(`read: tail reads at ${int(size)} events, ${connections} conn(s)`);
      const spec = { baseUrl: server.url, kind: "get" as const, path, topic: TOPIC, batch: 0, connections };
      await runLoad(ctx.generator, { ...spec, durationS: ctx.plan.warmupS });
      const runs: MeasuredLoad[] = [];
      for (let r = 0; r < ctx.plan.repeats; r++) {
        runs.push(await runMeasuredLoad(ctx.generator, { ...spec, durationS: ctx.plan.durationS }, server.pid, ctx.plan.maxAttempts));
      }
      row.tail.push({
        connections,
        rps: median(runs.map((r) => r.rps)),
        p50Ms: median(runs.map((r) => r.p50Ms)),
        p99Ms: median(runs.map((r) => r.p99Ms)),
        errors: runs.reduce((sum, r) => sum + r.errors, 0),
        serverCpuPct: median(runs.map((r) => r.cpu.serverPct)),
        noiseCpuPct: median(runs.map((r) => r.cpu.noisePct)),
        runs,
      });
    }
    if (withScan) {
      ctx.progress(`read: old page and full scans of ${int(size)} events`);
      // Closed segments are indexed lazily: the first read there pays for decoding the whole segment.
      const oldPage = `${server.url}/topics/${TOPIC}/events?sinceEventId=${TOPIC}-1000&limit=${TAIL_PAGE}`;
      row.oldPageColdMs = await timedGet(oldPage);
      const warm: number[] = [];
      for (let i = 0; i < 5; i++) warm.push(await timedGet(oldPage));
      row.oldPageWarmMs = median(warm);
      // Cold: the first pass builds the offset index of every closed segment; warm: they are cached.
      row.scanCold = await scanTopic(server.url);
      row.scanWarm = await scanTopic(server.url);
      if (row.scanCold.events !== size) throw new Error(`scan returned ${row.scanCold.events} of ${size} events`);
      row.rssAfterScanBytes = rssBytes(server.pid);
    }
    return row;
  } finally {
    await server.stop();
  }
}

async function timedGet(url: string): Promise<number> {
  const started = performance.now();
  const res = await fetch(url);
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`GET ${url} answered ${res.status}`);
  return performance.now() - started;
}

async function assertPageSize(url: string, expected: number): Promise<void> {
  const res = await fetch(url);
  const body = (await res.json()) as { events?: unknown[] };
  if (res.status !== 200 || body.events?.length !== expected) {
    throw new Error(`GET ${url} answered ${res.status} with ${body.events?.length} events, expected ${expected}`);
  }
}

export function readTable(rows: ReadRow[]): string {
  const connections = rows[0]?.tail.map((t) => t.connections) ?? [];
  const header = ["stored events", ...connections.flatMap((c) => [`req/s @${c}`, "p50", "p99", "CPU"]), "errors", "noise"];
  const tailTable = renderTable(
    `Tail read: GET /topics/${TOPIC}/events?sinceEventId=<head-${TAIL_PAGE}>&limit=${TAIL_PAGE} (latency ms)`,
    header,
    rows.map((r) => [
      int(r.storedEvents),
      ...r.tail.flatMap((t) => [int(t.rps), ms(t.p50Ms), ms(t.p99Ms), percent(t.serverCpuPct)]),
      String(r.tail.reduce((sum, t) => sum + t.errors, 0)),
      percent(Math.max(...r.tail.map((t) => t.noiseCpuPct))),
    ]),
  );
  const scans = rows.filter((r) => r.scanCold);
  const scanTable = renderTable(
    "Old pages and full-topic scan (pages of limit=10000, one client); old page = sinceEventId=bench-1000&limit=10",
    ["stored events", "old page cold ms", "warm ms", "scan cold ev/s", "cold s", "warm ev/s", "warm s", "RSS after start", "RSS after scans"],
    scans.map((r) => [
      int(r.storedEvents),
      ms(r.oldPageColdMs),
      ms(r.oldPageWarmMs),
      int(r.scanCold!.eventsPerS),
      (r.scanCold!.ms / 1000).toFixed(2),
      int(r.scanWarm!.eventsPerS),
      (r.scanWarm!.ms / 1000).toFixed(2),
      mib(r.rssAfterStartBytes),
      mib(r.rssAfterScanBytes),
    ]),
  );
  return `${tailTable}\n\n${scanTable}`;
}
