import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BenchContext } from "../lib/context.ts";
import { BENCH_SCHEMA, EVENT_TYPE, createStore, payloadJson } from "../lib/fixture.ts";
import { int, renderTable } from "../lib/format.ts";
import { startServer } from "../lib/server-process.ts";
import { median } from "../lib/stats.ts";

/** Events in the NDJSON file of each run. */
const IMPORT_EVENTS = 100_000;

export interface CliImportResult {
  events: number;
  /** What the command line was: the binary, or `bun run src/main.ts`. */
  command: string;
  /** Wall time of the whole CLI process (start, read, parse, batches, exit), per run. */
  wallSeconds: number[];
  eventsPerSecond: number[];
  medianEventsPerSecond: number;
}

/**
 * `event-store publish <topic> --file events.ndjson`: the CLI's bulk import,
 * as an operator runs it, against our server, each run into a fresh topic.
 * Timed from spawn to exit, so start-up and file reading count.
 */
export async function runCliImport(ctx: BenchContext): Promise<CliImportResult> {
  const store = createStore("cli-import");
  const server = await startServer(ctx.ours, store.env);
  try {
    const file = join(store.root, "events.ndjson");
    let text = "";
    for (let n = 0; n < IMPORT_EVENTS; n++) text += `{"type":"${EVENT_TYPE}","payload":${payloadJson(n)}}\n`;
    writeFileSync(file, text);
    const wallSeconds: number[] = [];
    const runs = Math.max(3, ctx.plan.repeats);
    for (let run = 0; run < runs; run++) {
      const topic = `import-${run}`;
      const created = await fetch(`${server.url}/topics`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: topic, schemas: [BENCH_SCHEMA] }) });
      if (created.status !== 201) throw new Error(`create topic: ${created.status}`);
      ctx.progress(`cli import: run ${run + 1}/${runs}, ${int(IMPORT_EVENTS)} events`);
      const started = performance.now();
      const cli = Bun.spawn([...ctx.ours.argv, "--url", server.url, "publish", topic, "--file", file, "-o", "json"], { stdout: "pipe", stderr: "pipe" });
      const [stdout, stderr, code] = await Promise.all([new Response(cli.stdout).text(), new Response(cli.stderr).text(), cli.exited]);
      wallSeconds.push((performance.now() - started) / 1000);
      if (code !== 0) throw new Error(`cli import exited ${code}: ${stderr}`);
      const { published } = JSON.parse(stdout) as { published: number };
      if (published !== IMPORT_EVENTS) throw new Error(`cli import published ${published} events, expected ${IMPORT_EVENTS}`);
    }
    const eventsPerSecond = wallSeconds.map((s) => IMPORT_EVENTS / s);
    return { events: IMPORT_EVENTS, command: ctx.ours.label, wallSeconds, eventsPerSecond, medianEventsPerSecond: median(eventsPerSecond) };
  } finally {
    await server.stop();
    store.remove();
  }
}

export function cliImportTable(result: CliImportResult): string {
  return renderTable(
    `CLI bulk import: ${result.command} publish <topic> --file <${int(result.events)} NDJSON events>, spawn to exit`,
    ["events", "median events/s", "range events/s", "runs"],
    [[int(result.events), int(result.medianEventsPerSecond), `${int(Math.min(...result.eventsPerSecond))}–${int(Math.max(...result.eventsPerSecond))}`, String(result.eventsPerSecond.length)]],
  );
}
