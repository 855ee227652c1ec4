import { join } from "node:path";
import type { LoadResult, LoadSpec } from "./load-types.ts";
import { type RunCpu, type RunCpuMeterOptions, runCpuMeter } from "./proc.ts";
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
export function runMeasuredLoad(
  generator: LoadGenerator,
  spec: LoadSpec,
  serverPid: number,
  maxAttempts: number,
  meterOptions: RunCpuMeterOptions = {},
): Promise<MeasuredLoad> {
  return quietestOf(maxAttempts, async () => {
    const meter = runCpuMeter(serverPid, meterOptions);
    const result = await runLoad(generator, spec);
    return { ...result, cpu: meter() };
  });
}

/** Runs `attempt` until one run has noise ≤ MAX_NOISE_PCT, at most `maxAttempts` times; the quietest run, with the number of runs made. */
export async function quietestOf<T extends { cpu: RunCpu }>(maxAttempts: number, attempt: () => Promise<T>): Promise<T & { attempts: number }> {
  let quietest: (T & { attempts: number }) | null = null;
  for (let n = 1; n <= maxAttempts; n++) {
    const run = await attempt();
    if (quietest === null || run.cpu.noisePct < quietest.cpu.noisePct) quietest = { ...run, attempts: n };
    quietest.attempts = n;
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
