/**
 * Fault injection as a property: random sequences of concurrent appends
 * across topics, each possibly hit by a disk fault (ENOSPC, EIO, a short
 * write, a failed fsync, a disk that keeps failing for a while), with
 * restarts in between, checked against a model of what was acknowledged.
 * Whatever fails, acknowledged events stay readable, ids stay dense, no
 * failed batch leaves a trace, and a restart shows exactly the same log.
 * `FC_SEED=<n>` replays a run.
 */
import { afterAll, expect, test } from "bun:test";
import fc from "fast-check";
import { FileEventLog } from "../src/log/file-event-log.ts";
import { WriteFailedError } from "../src/errors.ts";
import { isValidTopicName } from "../src/topics/topic-name.ts";
import { type Fault, FaultyStorage } from "./faulty-storage.ts";
import { tempDir } from "./utils.ts";

const RUNS = Number(process.env.FC_RUNS ?? 60);
const SEED = Number(process.env.FC_SEED ?? Math.floor(Math.random() * 2 ** 31));
const TOPICS = ["a", "b", "c"];
const FAULTS: Fault[] = ["ENOSPC", "EIO", "short-write", "fsync-EIO", "open-EMFILE", "dirsync-EIO"];
const decoder = new TextDecoder();

const injected = new Map<string, number>();
afterAll(() => {
  const total = [...injected.values()].reduce((a, b) => a + b, 0);
  console.log(`log fault property: ${total} faults injected (${[...injected].map(([k, v]) => `${k} ${v}`).join(", ")}), seed ${SEED}`);
});

type Op =
  /** Batches sent at once (they share group commits); the fault, if any, hits the next I/O. */
  | { op: "append"; batches: string[][]; fault: Fault | null }
  /** EIO on every write and truncate for `failing` appends, then the disk heals. */
  | { op: "failingDisk"; failing: number }
  | { op: "reopen" };

const batchArb = fc.array(fc.constantFrom(...TOPICS), { minLength: 1, maxLength: 4 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant("append" as const), batches: fc.array(batchArb, { minLength: 1, maxLength: 4 }), fault: fc.option(fc.constantFrom(...FAULTS), { nil: null, freq: 2 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("failingDisk" as const), failing: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("reopen" as const) }) },
);

/** What each topic must hold: payload tags, in sequence order. */
type Model = Map<string, string[]>;

function readAll(log: FileEventLog, topic: string): { id: string; tag: string }[] {
  return log.readNow(topic, { after: 0, limit: 1_000_000 }).events.map((line) => {
    const event = JSON.parse(decoder.decode(line)) as { id: string; payload: { tag: string } };
    return { id: event.id, tag: event.payload.tag };
  });
}

function expectMatches(log: FileEventLog, model: Model): void {
  for (const topic of TOPICS) {
    const tags = model.get(topic) ?? [];
    expect(log.committedHead(topic)).toBe(tags.length);
    expect(readAll(log, topic)).toEqual(tags.map((tag, i) => ({ id: `${topic}-${i + 1}`, tag })));
  }
}

test(
  `random appends under random disk faults and restarts: acknowledged = readable, dense, nothing partial (${RUNS} runs, seed ${SEED})`,
  async () => {
    await fc.assert(
      // Small segments make appends roll over to new files (new folders, directory fsyncs) often.
      fc.asyncProperty(fc.constantFrom(4096, 64 * 1024 * 1024), fc.array(opArb, { minLength: 1, maxLength: 20 }), async (segmentMaxBytes, ops) => {
        using dir = tempDir("event-store-faults-");
        const storage = new FaultyStorage();
        const open = () => FileEventLog.open({ dataDir: dir.path, storage, segmentMaxBytes, isTopicName: isValidTopicName, report: () => {} });
        let log = await open();
        const model: Model = new Map();
        let tagCounter = 0;
        try {
          for (const op of ops) {
            if (op.op === "reopen") {
              await log.close();
              log = await open();
              expectMatches(log, model);
              continue;
            }
            if (op.op === "failingDisk") {
              storage.failing("EIO");
              for (let i = 0; i < op.failing; i++) {
                const failed = await log.append([{ topic: "a", type: "e", payloadJson: `{"tag":"never-${tagCounter++}"}` }]).catch((e: unknown) => e);
                expect(failed).toBeInstanceOf(WriteFailedError);
              }
              storage.clear();
              expectMatches(log, model);
              continue;
            }
            const injectedBefore = new Map(storage.injected);
            if (op.fault) storage.failNext(op.fault);
            // Padded so that small segments fill up within a few batches.
            const tagged = op.batches.map((topics) => topics.map((topic) => ({ topic, tag: `t${tagCounter++}-${"p".repeat(300)}` })));
            const results = await Promise.allSettled(
              tagged.map((batch) => log.append(batch.map(({ topic, tag }) => ({ topic, type: "e", payloadJson: JSON.stringify({ tag }) })))),
            );
            storage.clear();
            // Fulfilled batches, in the order they were sent, got the next ids of their topics.
            results.forEach((result, i) => {
              if (result.status === "rejected") {
                expect(result.reason).toBeInstanceOf(WriteFailedError);
                return;
              }
              const expectedIds = tagged[i]!.map(({ topic, tag }) => {
                const tags = model.get(topic) ?? [];
                tags.push(tag);
                model.set(topic, tags);
                return `${topic}-${tags.length}`;
              });
              expect(result.value.ids).toEqual(expectedIds);
            });
            const consumed = (storage.injected.get(op.fault!) ?? 0) > (injectedBefore.get(op.fault!) ?? 0);
            if (op.fault === null) expect(results.every((r) => r.status === "fulfilled")).toBe(true);
            else if (consumed && results.every((r) => r.status === "fulfilled")) throw new Error(`fault ${op.fault} was injected but every batch was acknowledged`);
            expectMatches(log, model);
          }
          await log.close();
          log = await open();
          expectMatches(log, model);
          await log.close();
          expect([...storage.openHandles.values()]).toEqual([]);
        } finally {
          await log.close();
          for (const [fault, count] of storage.injected) injected.set(fault, (injected.get(fault) ?? 0) + count);
        }
      }),
      { numRuns: RUNS, seed: SEED },
    );
  },
  60_000,
);
