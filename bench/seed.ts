/**
 * Seeds a store through FileEventLog directly (no HTTP), in big batches, so a
 * 1 000 000-event store takes seconds. Run it as its own process with the
 * server stopped: two writers on one log would corrupt it.
 *
 *   bun bench/seed.ts <dataDir> <count> [batch]
 *
 * Prints one JSON line: {"events":…,"ms":…}.
 */
import { FileEventLog } from "../src/log/file-event-log.ts";
import { isValidTopicName } from "../src/topics/topic-name.ts";
import { EVENT_TYPE, TOPIC, payloadJson } from "./lib/fixture.ts";

/** Appends kept in flight, so consecutive batches share group commits like concurrent publishers do. */
const IN_FLIGHT = 4;

const [dataDir, countArg, batchArg] = process.argv.slice(2);
if (dataDir === undefined || countArg === undefined) {
  console.error("usage: bun bench/seed.ts <dataDir> <count> [batch]");
  process.exit(2);
}
const count = Number(countArg);
const batch = Number(batchArg ?? 10_000);

const started = performance.now();
const log = await FileEventLog.open({ dataDir, isTopicName: isValidTopicName, report: () => {} });
let next = log.committedHead(TOPIC) + 1;
const last = next - 1 + count;
const inFlight = new Set<Promise<unknown>>();
while (next <= last) {
  const events = [];
  for (const end = Math.min(last, next + batch - 1); next <= end; next++) {
    events.push({ topic: TOPIC, type: EVENT_TYPE, payloadJson: payloadJson(next) });
  }
  const append = log.append(events);
  inFlight.add(append);
  append.finally(() => inFlight.delete(append));
  if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
}
await Promise.all(inFlight);
await log.close();
console.log(JSON.stringify({ events: count, head: log.committedHead(TOPIC), ms: performance.now() - started }));
