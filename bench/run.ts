/**
 * The benchmark: measures what the product promises against a minimal
 * durable Bun server (bench/ceiling.ts) in the same run.
 *
 *   bun run bench            quick, under 3 minutes
 *   bun run bench --full     every row, longer runs, medians of 3
 *
 * Options:
 *   --load=wrk|bun      load generator (default: wrk when installed, else bench/load.ts)
 *   --server=dist|src   dist/event-store when it exists (default), or `bun run src/main.ts`
 *   --only=publish,read,startup,delivery,stall,cli,cluster   a subset of the sections
 *                       (cluster is not in the default run: ~3-4 min more, and it needs nats-server)
 *
 * Servers and load generators run as separate processes; this process only
 * orchestrates (and hosts the webhook sink of the delivery rows). The table
 * goes to stdout, progress to stderr, everything to bench/results/<date>.json.
 */
import { statSync } from "node:fs";
import { join } from "node:path";
import type { BenchContext } from "./lib/context.ts";
import { removeAllStores } from "./lib/fixture.ts";
import { MAX_NOISE_PCT, pickLoadGenerator } from "./lib/load.ts";
import { machineInfo } from "./lib/machine.ts";
import { planFor } from "./lib/plan.ts";
import { saveResult } from "./lib/results.ts";
import { binaryIsStale, ceilingCommand, eventStoreCommand, killAllServers } from "./lib/server-process.ts";
import { cliImportTable, runCliImport } from "./sections/cli-import.ts";
import { clusterTable, runCluster } from "./sections/cluster.ts";
import { deliveryTable, runDelivery } from "./sections/delivery.ts";
import { publishTable, runPublish } from "./sections/publish.ts";
import { readTable, runRead } from "./sections/read.ts";
import { runStartup, startupTable } from "./sections/startup.ts";
import { runStall, stallTable } from "./sections/stall.ts";

const SECTIONS = ["publish", "read", "startup", "delivery", "stall", "cli", "cluster"] as const;
type Section = (typeof SECTIONS)[number];
/** Without --only: everything but cluster, which takes another 3-4 minutes (3 nats-servers, 6 paired rows) and needs nats-server. */
const DEFAULT_SECTIONS: readonly Section[] = SECTIONS.filter((section) => section !== "cluster");

const benchDir = import.meta.dir;
const repoDir = join(benchDir, "..");

function option(name: string): string | undefined {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  return arg?.slice(name.length + 3);
}

function cleanUp(): void {
  killAllServers();
  removeAllStores();
}

async function main(): Promise<void> {
  const plan = planFor(process.argv.includes("--full"));
  const only = option("only")?.split(",") ?? [...DEFAULT_SECTIONS];
  const wanted = (section: Section) => only.includes(section);
  const machine = machineInfo(repoDir);
  const ours = eventStoreCommand(repoDir, option("server") === "src" ? "src" : "dist");
  const started = performance.now();
  const ctx: BenchContext = {
    plan,
    generator: pickLoadGenerator(option("load")),
    ours,
    ceiling: ceilingCommand(benchDir),
    progress: (message) => console.error(`[${((performance.now() - started) / 1000).toFixed(0).padStart(3)}s] ${message}`),
  };
  const serverLabel = ours.label === "dist/event-store" ? `${ours.label} (built ${statSync(ours.argv[0]!).mtime.toISOString()})` : ours.label;

  const header = [
    `event-store bench — ${plan.mode} — ${machine.date}`,
    `machine: ${machine.nproc} CPUs, ${machine.cpuModel}, ${machine.memoryGiB} GiB, Linux ${machine.kernel}; bun ${machine.bun}`,
    `server: ${serverLabel} at commit ${machine.commit}; load generator: ${ctx.generator === "wrk" ? "wrk (1 thread)" : "bench/load.ts (Bun fetch)"}`,
    `load average at start: ${machine.loadAverage.toFixed(2)}; noise = CPU of other processes + steal during a run, % of one core`,
    `runs: ${plan.warmupS} s warm-up + ${plan.repeats} × ${plan.durationS} s per row (median shown); a run with noise > ${MAX_NOISE_PCT}% is redone, up to ${plan.maxAttempts} tries, quietest kept`,
    ...(binaryIsStale(repoDir, ours) ? ["WARNING: dist/event-store is older than src/ — these are the numbers of old code (bun run build, or --server=src)"] : []),
  ].join("\n");
  console.log(`${header}\n`);

  const run: Record<string, unknown> = { mode: plan.mode, machine, server: serverLabel, loadGenerator: ctx.generator, plan };
  const tables: string[] = [];
  const show = (table: string) => {
    tables.push(table);
    console.log(`${table}\n`);
  };

  if (wanted("publish")) {
    const publish = await runPublish(ctx);
    run.publish = publish;
    show(publishTable(publish));
  }
  if (wanted("read") || wanted("startup")) {
    const read = await runRead(ctx);
    run.read = read.rows;
    show(readTable(read.rows));
    if (wanted("startup")) {
      const startup = await runStartup(ctx, read.largest);
      run.startup = startup;
      show(startupTable(startup));
    }
    read.largest.store.remove();
  }
  if (wanted("delivery")) {
    const delivery = await runDelivery(ctx);
    run.delivery = delivery;
    show(deliveryTable(delivery));
  }

  if (wanted("stall")) {
    const stall = await runStall(ctx);
    run.stall = stall;
    show(stallTable(stall));
  }

  if (wanted("cli")) {
    const cli = await runCliImport(ctx);
    run.cliImport = cli;
    show(cliImportTable(cli));
  }

  if (wanted("cluster")) {
    const cluster = await runCluster(ctx);
    run.cluster = cluster;
    show(clusterTable(cluster));
  }

  run.elapsedS = (performance.now() - started) / 1000;
  run.table = `${header}\n\n${tables.join("\n\n")}`;
  // Runs with non-default options are kept beside, not over, the day's plain quick/full run.
  const variant = process.argv.slice(2).filter((a) => a !== "--full").sort();
  const path = saveResult(join(benchDir, "results"), machine.date, [plan.mode, ...variant].join(" "), run);
  console.log(`total ${(run.elapsedS as number).toFixed(0)} s; results in ${path.slice(repoDir.length + 1)}`);
}

process.on("SIGINT", () => {
  cleanUp();
  process.exit(130);
});

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error("bench failed:", error);
    cleanUp();
    process.exit(1);
  },
);
