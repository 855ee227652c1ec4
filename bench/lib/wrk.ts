import { join } from "node:path";
import type { LoadResult, LoadSpec } from "./load-types.ts";

const SCRIPT = join(import.meta.dir, "..", "wrk", "bench.lua");

export function wrkAvailable(): boolean {
  return Bun.which("wrk") !== null;
}

/**
 * One wrk run. A single wrk thread: it handles 64 connections easily and
 * leaves the other core to the server (on 2 cores every extra thread of the
 * load generator is taken from the server under test).
 */
export async function runWrk(spec: LoadSpec): Promise<LoadResult> {
  const url = spec.kind === "publish" ? `${spec.baseUrl}/events` : `${spec.baseUrl}${spec.path ?? "/"}`;
  const argv = ["wrk", "-t1", `-c${spec.connections}`, `-d${spec.durationS}s`, "--timeout", "10s", "-s", SCRIPT, url, "--"];
  argv.push(...(spec.kind === "publish" ? ["publish", spec.topic, String(spec.batch)] : ["get"]));
  const child = Bun.spawn(argv, { stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  const line = stdout.split("\n").find((l) => l.startsWith("WRK_JSON "));
  if (code !== 0 || line === undefined) throw new Error(`wrk failed (exit ${code}): ${stderr || stdout}`);
  const r = JSON.parse(line.slice("WRK_JSON ".length)) as Record<string, number>;
  const seconds = r.durationUs! / 1e6;
  // wrk counts a non-2xx/3xx answer as a request *and* a status error.
  const ok = r.requests! - r.statusErrors!;
  return {
    ok,
    errors: r.statusErrors! + r.connectErrors! + r.readErrors! + r.writeErrors! + r.timeouts!,
    seconds,
    rps: ok / seconds,
    p50Ms: r.p50Us! / 1000,
    p99Ms: r.p99Us! / 1000,
    maxMs: r.maxUs! / 1000,
    generatorCpuS: Number(child.resourceUsage()?.cpuTime.total ?? 0) / 1e6,
  };
}
