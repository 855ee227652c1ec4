/**
 * The cluster crash campaign: kill -9 of a random store node or nats-server
 * per cycle, under concurrent publishers and readers over two store nodes on
 * a 3-node nats-server cluster at R3 (logic and guarantees in
 * test/cluster-crash-campaign.ts). Progress on stderr, counts as JSON on stdout.
 *
 *   bun run bench/cluster-crash-campaign.ts                 20 cycles
 *   bun run bench/cluster-crash-campaign.ts --cycles=100 --publishers=16 --seed=42
 *
 * Exit code 1 on the first violated guarantee, with the seed to replay it.
 */
import { natsServerBinary } from "../test/nats-server.ts";
import { runClusterCrashCampaign } from "../test/cluster-crash-campaign.ts";

function option(name: string): number | undefined {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  return arg === undefined ? undefined : Number(arg.slice(name.length + 3));
}

if (natsServerBinary() === null) {
  console.error("cluster crash campaign: nats-server is not installed (apt-get install -y nats-server)");
  process.exit(2);
}
const cycles = option("cycles") ?? 20;
const publishers = option("publishers") ?? 8;
const seed = option("seed") ?? Math.floor(Math.random() * 2 ** 31);
const started = performance.now();
console.error(`cluster crash campaign: ${cycles} cycles, ${publishers} publishers, seed ${seed}`);
try {
  const result = await runClusterCrashCampaign({ cycles, publishers, seed, log: (line) => console.error(line) });
  console.log(JSON.stringify({ ...result, seconds: Math.round((performance.now() - started) / 1000) }, null, 2));
} catch (error) {
  console.error(`cluster crash campaign FAILED (seed ${seed}):`, error);
  process.exitCode = 1;
}
