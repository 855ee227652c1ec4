import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * `bench/results/<date>.json` holds that day's latest run of each kind
 * ({"quick": …, "full": …, "quick --only=publish": …}), so a quick check
 * does not overwrite a full run.
 */
export function saveResult(resultsDir: string, date: string, kind: string, run: unknown): string {
  mkdirSync(resultsDir, { recursive: true });
  const path = join(resultsDir, `${date}.json`);
  let runs: Record<string, unknown> = {};
  if (existsSync(path)) {
    try {
      runs = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
    } catch {
      runs = {}; // a hand-edited or torn file is replaced rather than blocking the run
    }
  }
  runs[kind] = run;
  writeFileSync(path, `${JSON.stringify(runs, null, 2)}\n`);
  return path;
}
