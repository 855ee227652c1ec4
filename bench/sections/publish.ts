import { topicHead } from "../lib/api.ts";
import type { BenchContext } from "../lib/context.ts";
import { TOPIC, bytesUnder, createStore } from "../lib/fixture.ts";
import { int, ms, percent, renderTable } from "../lib/format.ts";
import { type MeasuredLoad, runLoad, runMeasuredLoad } from "../lib/load.ts";
import type { LoadSpec } from "../lib/load-types.ts";
import type { PublishCase } from "../lib/plan.ts";
import { startServer, type ServerCommand, type ServerProcess } from "../lib/server-process.ts";
import { median } from "../lib/stats.ts";

export interface PublishSample {
  /** Medians over the measured runs. */
  eventsPerS: number;
  p50Ms: number;
  p99Ms: number;
  /** Server CPU during the runs, % of one core. */
  cpuPct: number;
  /** CPU of other processes on the machine during the runs, % of one core (noise). */
  noiseCpuPct: number;
  errors: number;
  runs: MeasuredLoad[];
}

export interface PublishRow extends PublishCase {
  ours: PublishSample;
  ceiling: PublishSample;
  /** Median over the measured pairs of ours ÷ ceiling, each pair run back to back. */
  ratio: number;
  /** Bytes of segment files per stored event after the row (commit markers included). */
  oursDiskBytesPerEvent: number;
}

interface Target {
  server: ServerProcess;
  runs: MeasuredLoad[];
}

/**
 * Each case runs against our server and the ceiling, both on fresh stores and
 * both up for the whole case. Measured runs come in back-to-back pairs, in
 * alternating order (ours first, then the ceiling first), and the ratio is
 * the median of the pairs' ratios: the machine's speed drifts over a case
 * (disk write-back, other tenants), and a pair sees nearly the same machine.
 */
export async function runPublish(ctx: BenchContext): Promise<PublishRow[]> {
  const rows: PublishRow[] = [];
  for (const c of ctx.plan.publishCases) {
    ctx.progress(`publish: ${c.label}`);
    const ourStore = createStore("publish");
    const ceilingStore = createStore("ceiling");
    const started: ServerProcess[] = [];
    try {
      const start = async (command: ServerCommand, env: Record<string, string>): Promise<Target> => {
        const server = await startServer(command, env);
        started.push(server);
        return { server, runs: [] };
      };
      const ours = await start(ctx.ours, ourStore.env);
      const ceiling = await start(ctx.ceiling, ceilingStore.env);
      const spec = (server: ServerProcess, durationS: number): LoadSpec => ({
        baseUrl: server.url,
        kind: "publish",
        topic: TOPIC,
        batch: c.batch,
        connections: c.connections,
        durationS,
      });
      for (const target of [ours, ceiling]) await runLoad(ctx.generator, spec(target.server, ctx.plan.warmupS));
      for (let r = 0; r < ctx.plan.repeats; r++) {
        for (const target of r % 2 === 0 ? [ours, ceiling] : [ceiling, ours]) {
          target.runs.push(await runMeasuredLoad(ctx.generator, spec(target.server, ctx.plan.durationS), target.server.pid, ctx.plan.maxAttempts));
        }
      }
      const head = await topicHead(ours.server.url);
      rows.push({
        ...c,
        ours: summarize(ours.runs, c.batch),
        ceiling: summarize(ceiling.runs, c.batch),
        ratio: median(ours.runs.map((run, i) => run.rps / ceiling.runs[i]!.rps)),
        oursDiskBytesPerEvent: head > 0 ? bytesUnder(ourStore.dataDir) / head : Number.NaN,
      });
    } finally {
      await Promise.all(started.map((s) => s.stop()));
      ourStore.remove();
      ceilingStore.remove();
    }
  }
  return rows;
}

function summarize(runs: MeasuredLoad[], batch: number): PublishSample {
  return {
    eventsPerS: median(runs.map((r) => r.rps * batch)),
    p50Ms: median(runs.map((r) => r.p50Ms)),
    p99Ms: median(runs.map((r) => r.p99Ms)),
    cpuPct: median(runs.map((r) => r.cpu.serverPct)),
    noiseCpuPct: median(runs.map((r) => r.cpu.noisePct)),
    errors: runs.reduce((sum, r) => sum + r.errors, 0),
    runs,
  };
}

export function publishTable(rows: PublishRow[]): string {
  return renderTable(
    "Publish (events/s; latency per request, ms; CPU = server's, % of one core; noise = CPU of other processes + steal)",
    ["case", "ours ev/s", "p50", "p99", "CPU", "ceiling ev/s", "p50", "p99", "CPU", "ours÷ceiling (paired)", "disk B/ev", "errors", "noise"],
    rows.map((r) => [
      r.label,
      int(r.ours.eventsPerS),
      ms(r.ours.p50Ms),
      ms(r.ours.p99Ms),
      percent(r.ours.cpuPct),
      int(r.ceiling.eventsPerS),
      ms(r.ceiling.p50Ms),
      ms(r.ceiling.p99Ms),
      percent(r.ceiling.cpuPct),
      `${r.ratio.toFixed(2)}×`,
      int(r.oursDiskBytesPerEvent),
      String(r.ours.errors + r.ceiling.errors),
      percent(Math.max(r.ours.noiseCpuPct, r.ceiling.noiseCpuPct)),
    ]),
  );
}
