import { join } from "node:path";
import type { LoadResult, LoadSpec } from "./load-types.ts";
import { type RunCpu, runCpuMeter } from "./proc.ts";
import { runWrk, wrkAvailable } from "./wrk.ts";

export type LoadGenerator = "wrk" | "bun";

/** wrk when installed (C, one thread: the least CPU taken from the server); else bench/load.ts. */
export function pickLoadGenerator(forced?: string): LoadGenerator {
  if (forced === "bun") return "bun";
  if (forced === "wrk" && !wrkAvailable()) throw new Error("--load=wrk but wrk is not installed (apt-get install -y wrk)");
  return wrkAvailable() ? "wrk" : "bun";
}

export function runLoad(generator: LoadGenerator, spec: LoadSpec): Promise<LoadResult> {
  return generator === "wrk" ? runWrk(spec) : runBunLoad(spec);
}

export interface MeasuredLoad extends LoadResult {
  cpu: RunCpu;
  /** Runs made to get this one (see runMeasuredLoad). */
  attempts: number;
}

/** Other processes may use this much of a core during a measured run before it is retried. */
export const MAX_NOISE_PCT = 25;

/**
 * A load run with the server's CPU and the machine's other CPU use over the
 * same interval. On a shared 2-core machine another process taking half a
 * core halves our numbers, so a noisy run is repeated (up to `maxAttempts`
 * runs) and the quietest one kept; its noise is reported with it.
 */
export async function runMeasuredLoad(generator: LoadGenerator, spec: LoadSpec, serverPid: number, maxAttempts: number): Promise<MeasuredLoad> {
  let quietest: MeasuredLoad | null = null;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const meter = runCpuMeter(serverPid);
    const result = await runLoad(generator, spec);
    const run = { ...result, cpu: meter(), attempts: attempt };
    if (quietest === null || run.cpu.noisePct < quietest.cpu.noisePct) quietest = { ...run };
    quietest.attempts = attempt;
    if (run.cpu.noisePct <= MAX_NOISE_PCT) break;
  }
  return quietest!;
}

async function runBunLoad(spec: LoadSpec): Promise<LoadResult> {
  const child = Bun.spawn([process.execPath, "run", join(import.meta.dir, "..", "load.ts"), JSON.stringify(spec)], {
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  const line = stdout.split("\n").find((l) => l.startsWith("LOAD_JSON "));
  if (code !== 0 || line === undefined) throw new Error(`bench/load.ts failed (exit ${code}): ${stderr || stdout}`);
  const result = JSON.parse(line.slice("LOAD_JSON ".length)) as Omit<LoadResult, "generatorCpuS">;
  return { ...result, generatorCpuS: Number(child.resourceUsage()?.cpuTime.total ?? 0) / 1e6 };
}
