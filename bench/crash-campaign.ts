/**
 * The long crash campaign: the same kill -9 cycles CI runs 20 of
 * (test/campaign.crash.test.ts), here 200 by default, with progress on stderr
 * and the counts as JSON on stdout.
 *
 *   bun run bench/crash-campaign.ts                 200 cycles
 *   bun run bench/crash-campaign.ts --cycles=1000 --publishers=16 --seed=42
 *
 * Exit code 1 on the first violated guarantee, with the seed to replay it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCrashCampaign } from "../test/crash-campaign.ts";

function option(name: string): number | undefined {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  return arg === undefined ? undefined : Number(arg.slice(name.length + 3));
}

const cycles = option("cycles") ?? 200;
const publishers = option("publishers") ?? 8;
const seed = option("seed") ?? Math.floor(Math.random() * 2 ** 31);
const dir = mkdtempSync(join(tmpdir(), "event-store-crash-campaign-"));
const started = performance.now();
console.error(`crash campaign: ${cycles} cycles, ${publishers} publishers, seed ${seed}, in ${dir}`);
try {
  const result = await runCrashCampaign({ cycles, publishers, seed, dir, log: (line) => console.error(line) });
  console.log(JSON.stringify({ ...result, seconds: Math.round((performance.now() - started) / 1000) }, null, 2));
  rmSync(dir, { recursive: true, force: true });
} catch (error) {
  console.error(`crash campaign FAILED (seed ${seed}; data kept in ${dir}):`, error);
  process.exitCode = 1;
}
