import { expect, test } from "bun:test";
import { runCrashCampaign } from "./crash-campaign.ts";
import { tempDir } from "./utils.ts";

/** CI's share of the campaign; `bun run bench/crash-campaign.ts` runs the long one. */
const CYCLES = Number(process.env.CRASH_CYCLES ?? 20);

test(`crash campaign: ${CYCLES} kill -9 cycles while 8 clients publish and two webhook consumers receive`, async () => {
  using dir = tempDir("event-store-campaign-");
  const seed = process.env.CRASH_SEED === undefined ? undefined : Number(process.env.CRASH_SEED);
  const result = await runCrashCampaign({ cycles: CYCLES, dir: dir.path, ...(seed === undefined ? {} : { seed }) });
  console.log(`crash campaign: ${JSON.stringify(result)}`);
  expect(result.cycles).toBe(CYCLES);
  expect(result.acknowledgedBatches).toBeGreaterThanOrEqual(CYCLES * 30);
  expect(result.consumers).toBe(2);
}, 120_000);
