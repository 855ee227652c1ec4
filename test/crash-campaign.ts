/**
 * The kill -9 campaign, as a function so CI runs a short one
 * (test/campaign.crash.test.ts) and the bench runner a long one
 * (bench/crash-campaign.ts). Each cycle: concurrent publishers and webhook
 * consumers run against a real server process, which is killed with SIGKILL
 * at a random moment and restarted. After every restart:
 *
 * - every acknowledged id is readable, with the payload it was sent with;
 * - ids are dense per topic (1..head, no gap, no duplicate);
 * - no batch is partial: a batch's events are all stored or none is;
 * - acknowledged consumer registrations exist, and no consumer cursor ever
 *   moved backwards (polled while running and read after each restart);
 * - deliveries are in order: each one is a contiguous run of a topic that
 *   starts at most one past the highest event the receiver acknowledged
 *   (a redelivery may repeat, never skip), and carries the stored events.
 *
 * At the end every stored event has been acknowledged by every consumer
 * that should get it: at-least-once delivery, in order.
 */
import { join } from "node:path";
import { type ServerProcess, startServerProcess } from "./server-process.ts";
import { type Delivery, startReceiver } from "./webhook-receiver.ts";

export interface CrashCampaignOptions {
  /** kill -9 cycles. */
  cycles: number;
  /** Directory for DATA_DIR and CONFIG_DIR; the caller removes it. */
  dir: string;
  /** Concurrent publishing clients. @default 8 */
  publishers?: number;
  /** Batches acknowledged in a cycle before the kill may come. @default 30 */
  acksPerCycle?: number;
  /** Seed of the campaign's choices (batch shapes, kill moments, receiver failures). @default random */
  seed?: number;
  /** Share of deliveries the receiver answers 500, so retries cross the kills too. @default 0.05 */
  receiverFailureRate?: number;
  /** Progress lines. @default none */
  log?: (line: string) => void;
}

export interface CrashCampaignResult {
  seed: number;
  cycles: number;
  attemptedBatches: number;
  acknowledgedBatches: number;
  acknowledgedEvents: number;
  /** Batches stored although their 201 never arrived (the kill came first): allowed, never partial. */
  unacknowledgedButStored: number;
  storedEvents: number;
  consumers: number;
  deliveries: number;
  /** Events a receiver acknowledged more than once (at-least-once at work). */
  redeliveredEvents: number;
  cursorReads: number;
  /** Slowest restart to "listening" after a kill, in ms. */
  maxRestartMs: number;
}

const TOPICS = ["a", "b", "c"];
/** The final drain fails when no event is newly delivered for this long. */
const STALL_MS = 15_000;
const SCHEMAS = [{ eventType: "e", type: "object", properties: { batch: { type: "string" } }, required: ["batch"] }];

interface StoredEvent {
  id: string;
  payload: { batch: string; size: number; i: number };
}

interface ConsumerPlan {
  id: string;
  /** Topic → sequence after which it must receive everything. */
  from: Record<string, number>;
}

/** A small seeded PRNG (mulberry32), so a failing campaign can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sequenceOf = (id: string) => Number(id.slice(id.lastIndexOf("-") + 1));
const topicOf = (id: string) => id.slice(0, id.lastIndexOf("-"));

class CampaignFailure extends Error {
  override name = "CampaignFailure";
}

function check(condition: boolean, message: () => string): asserts condition {
  if (!condition) throw new CampaignFailure(message());
}

async function api(url: string, method: string, path: string, body?: unknown): Promise<any> {
  const response = await fetch(`${url}${path}`, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
  });
  const text = await response.text();
  if (response.status >= 300) throw new CampaignFailure(`${method} ${path} answered ${response.status}: ${text}`);
  return JSON.parse(text);
}

async function readAll(url: string, topic: string): Promise<StoredEvent[]> {
  const all: StoredEvent[] = [];
  for (;;) {
    const since = all.length === 0 ? "" : `&sinceEventId=${all.at(-1)!.id}`;
    const { events } = (await api(url, "GET", `/topics/${topic}/events?limit=10000${since}`)) as { events: StoredEvent[] };
    if (events.length === 0) return all;
    all.push(...events);
  }
}

export async function runCrashCampaign(options: CrashCampaignOptions): Promise<CrashCampaignResult> {
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  const random = prng(seed);
  const log = options.log ?? (() => {});
  const publishers = options.publishers ?? 8;
  const acksPerCycle = options.acksPerCycle ?? 30;
  const failureRate = options.receiverFailureRate ?? 0.05;
  const env = {
    DATA_DIR: join(options.dir, "data"),
    CONFIG_DIR: join(options.dir, "config"),
    DELIVERY_BATCH_SIZE: "5",
    DELIVERY_TIMEOUT_MS: "5000",
    CONSUMER_RETRY_BASE_MS: "5",
    CONSUMER_RETRY_MAX_MS: "50",
    CONSUMER_MAX_ATTEMPTS: "1000",
  };

  const acked = new Map<string, string[]>();
  const attempts = new Map<string, number>();
  const consumers: ConsumerPlan[] = [];
  /** Highest cursor sequence ever observed, per consumer and topic. */
  const cursorSeen = new Map<string, number>();
  let cursorReads = 0;
  let maxRestartMs = 0;
  let checkedDeliveries = 0;
  /** Per consumer and topic: the highest sequence the receiver acknowledged so far. */
  const acceptedUpTo = new Map<string, number>();
  const storedById = new Map<string, StoredEvent>();
  const storedHeads = new Map<string, number>();

  // ---- checks, over the campaign's state

  async function verifyLog(url: string, cycle: number): Promise<void> {
    storedById.clear();
    storedHeads.clear();
    for (const topic of TOPICS) {
      const events = await readAll(url, topic);
      events.forEach((event, i) => {
        check(event.id === `${topic}-${i + 1}`, () => `cycle ${cycle}: ids of '${topic}' are not dense: position ${i + 1} holds ${event.id}`);
        storedById.set(event.id, event);
      });
      storedHeads.set(topic, events.length);
    }
    for (const [batch, ids] of acked) {
      ids.forEach((id, i) => {
        const stored = storedById.get(id);
        check(stored !== undefined, () => `cycle ${cycle}: acknowledged event ${id} (batch ${batch}) is lost`);
        check(stored.payload.batch === batch && stored.payload.i === i && stored.payload.size === ids.length, () => `cycle ${cycle}: ${id} holds ${JSON.stringify(stored.payload)}, acknowledged as batch ${batch} #${i}`);
      });
    }
    const countByBatch = new Map<string, number>();
    for (const event of storedById.values()) countByBatch.set(event.payload.batch, (countByBatch.get(event.payload.batch) ?? 0) + 1);
    for (const [batch, count] of countByBatch) {
      const size = attempts.get(batch);
      check(size === count, () => `cycle ${cycle}: batch ${batch} is partial: ${count} of ${size} events stored`);
    }
  }

  function checkDeliveries(deliveries: readonly Delivery[], when: string): void {
    for (; checkedDeliveries < deliveries.length; checkedDeliveries++) {
      const delivery = deliveries[checkedDeliveries]!;
      if (delivery.status === 0) break; // answer pending: checked next time
      const topic = topicOf(delivery.eventIds[0]!);
      const seqs = delivery.eventIds.map(sequenceOf);
      check(delivery.eventIds.every((id) => topicOf(id) === topic), () => `${when}: delivery #${delivery.n} mixes topics: ${delivery.eventIds.join(",")}`);
      check(seqs.every((s, i) => s === seqs[0]! + i), () => `${when}: delivery #${delivery.n} is not contiguous: ${delivery.eventIds.join(",")}`);
      const key = `${delivery.consumerId}/${topic}`;
      const plan = consumers.find((c) => c.id === delivery.consumerId);
      const upTo = acceptedUpTo.get(key) ?? plan?.from[topic] ?? 0;
      check(seqs[0]! <= upTo + 1, () => `${when}: delivery #${delivery.n} to ${delivery.consumerId} skips ahead: starts at ${topic}-${seqs[0]} after ${topic}-${upTo} was the highest acknowledged`);
      check(seqs[0]! > (plan?.from[topic] ?? 0), () => `${when}: delivery #${delivery.n} re-sends ${topic}-${seqs[0]}, registered as already processed`);
      const body = JSON.parse(delivery.body) as { events: StoredEvent[] };
      for (const event of body.events) {
        // A delivered event was committed (dispatchers read only up to the durable head), so it must have survived.
        const stored = storedById.get(event.id);
        check(stored !== undefined, () => `${when}: delivered event ${event.id} is not in the log after the restart`);
        check(JSON.stringify(stored.payload) === JSON.stringify(event.payload), () => `${when}: delivered ${event.id} differs from the stored event`);
      }
      if (delivery.status >= 200 && delivery.status < 300) acceptedUpTo.set(key, Math.max(upTo, seqs.at(-1)!));
    }
  }

  /**
   * Per consumer and topic, the stored events not yet acknowledged by its receiver. checkDeliveries
   * has proven that acknowledged events form a prefix (no delivery skips ahead), so the count is
   * head minus the highest acknowledged sequence.
   */
  function undelivered(): { total: number; behind: string[] } {
    let total = 0;
    const behind: string[] = [];
    for (const consumer of consumers) {
      for (const [topic, from] of Object.entries(consumer.from)) {
        const head = storedHeads.get(topic) ?? 0;
        const upTo = Math.max(from, acceptedUpTo.get(`${consumer.id}/${topic}`) ?? 0);
        if (upTo < head) behind.push(`consumer ${consumer.id} has '${topic}' up to ${upTo} of ${head}`);
        total += Math.max(0, head - upTo);
      }
    }
    return { total, behind };
  }

  // ---- the campaign

  await using receiver = startReceiver((delivery) => new Response(null, { status: failureRate > 0 && random() < failureRate && delivery.n > 1 ? 500 : 204 }));

  let server: ServerProcess = await startServerProcess(env);
  try {
    for (const name of TOPICS) await api(server.url, "POST", "/topics", { name, schemas: SCHEMAS });
    const first = await api(server.url, "POST", "/consumers/register", { callback: receiver.url, topics: Object.fromEntries(TOPICS.map((t) => [t, null])) });
    consumers.push({ id: first.consumerId, from: Object.fromEntries(TOPICS.map((t) => [t, 0])) });
    const secondAt = Math.max(1, Math.floor(options.cycles / 3));

    for (let cycle = 0; cycle < options.cycles; cycle++) {
      const url = server.url;
      let down = false;
      const ackedBefore = acked.size;
      const deliveriesBefore = receiver.deliveries.length;

      const publish = async (client: number) => {
        for (let n = 0; !down; n++) {
          const batch = `${cycle}.${client}.${n}`;
          const size = 1 + Math.floor(random() * 4);
          const events = Array.from({ length: size }, (_, i) => ({ topic: TOPICS[Math.floor(random() * TOPICS.length)]!, type: "e", payload: { batch, size, i } }));
          attempts.set(batch, size);
          let response: Response;
          try {
            response = await fetch(`${url}/events`, { method: "POST", body: JSON.stringify(events), headers: { "content-type": "application/json" } });
          } catch {
            return; // the server is gone
          }
          let text: string;
          try {
            text = await response.text();
          } catch {
            return; // killed while answering: not acknowledged
          }
          check(response.status === 201, () => `cycle ${cycle}: publish answered ${response.status}: ${text}`);
          acked.set(batch, (JSON.parse(text) as { eventIds: string[] }).eventIds);
        }
      };
      const pollCursors = async () => {
        while (!down) {
          for (const consumer of consumers) {
            let topics: Record<string, string | null>;
            try {
              const response = await fetch(`${url}/consumers/${consumer.id}`);
              if (response.status !== 200) throw new CampaignFailure(`cycle ${cycle}: GET /consumers/${consumer.id} answered ${response.status}`);
              topics = ((await response.json()) as { topics: Record<string, string | null> }).topics;
            } catch (error) {
              if (error instanceof CampaignFailure) throw error;
              return;
            }
            observeCursors(consumer.id, topics, `cycle ${cycle} (running)`);
          }
          await Bun.sleep(15);
        }
      };
      const observeCursors = (consumerId: string, topics: Record<string, string | null>, when: string) => {
        cursorReads++;
        for (const [topic, cursor] of Object.entries(topics)) {
          const seq = cursor === null ? 0 : sequenceOf(cursor);
          const key = `${consumerId}/${topic}`;
          const before = cursorSeen.get(key) ?? 0;
          check(seq >= before, () => `${when}: cursor of consumer ${consumerId} on '${topic}' went back from ${before} to ${seq}`);
          cursorSeen.set(key, seq);
        }
      };

      let failure: unknown = null;
      const running = [...Array.from({ length: publishers }, (_, client) => publish(client)), pollCursors()].map((task) =>
        task.catch((error: unknown) => {
          failure ??= error;
        }),
      );
      if (cycle === secondAt) {
        // Registered while publishing, with a cursor in the middle of topic a: the 201 must survive the kill.
        const head = (await api(url, "GET", "/topics/a")).sequence as number;
        const from = Math.floor(head / 2);
        const second = await api(url, "POST", "/consumers/register", { callback: `${receiver.url}?second`, topics: { a: from === 0 ? null : `a-${from}` } });
        consumers.push({ id: second.consumerId, from: { a: from } });
      }
      const deadline = Date.now() + 20_000;
      while (acked.size < ackedBefore + acksPerCycle || receiver.deliveries.length === deliveriesBefore) {
        if (failure !== null) throw failure;
        check(Date.now() < deadline, () => `cycle ${cycle}: no progress (acks ${acked.size - ackedBefore}, deliveries ${receiver.deliveries.length - deliveriesBefore})`);
        await Bun.sleep(5);
      }
      await Bun.sleep(random() * 40);
      await server.kill9();
      down = true;
      await Promise.all(running);
      if (failure !== null) throw failure;

      const restartStarted = performance.now();
      server = await startServerProcess(env);
      maxRestartMs = Math.max(maxRestartMs, performance.now() - restartStarted);
      await verifyLog(server.url, cycle);
      const listed = (await api(server.url, "GET", "/consumers")).consumers as { id: string; topics: Record<string, string | null> }[];
      for (const consumer of consumers) {
        const found = listed.find((c) => c.id === consumer.id);
        check(found !== undefined, () => `cycle ${cycle}: consumer ${consumer.id} (acknowledged) is gone after the restart`);
        observeCursors(consumer.id, found.topics, `cycle ${cycle} (after restart)`);
        for (const [topic, cursor] of Object.entries(found.topics)) {
          const head = storedHeads.get(topic) ?? 0;
          check((cursor === null ? 0 : sequenceOf(cursor)) <= head, () => `cycle ${cycle}: cursor ${cursor} is beyond the head ${head} of '${topic}'`);
        }
      }
      checkDeliveries(receiver.deliveries, `cycle ${cycle}`);
      log(`cycle ${cycle + 1}/${options.cycles}: ${acked.size} batches acknowledged, ${storedById.size} events stored, ${receiver.deliveries.length} deliveries`);
    }

    // Every event reaches every consumer that should get it, whatever the kills interrupted. The backlog
    // of a long campaign takes a while: the wait fails only when delivery stops making progress.
    let failure: unknown = null;
    const progressed = (before: number) => () => {
      try {
        checkDeliveries(receiver.deliveries, "drain");
      } catch (error) {
        failure = error; // thrown below, not inside the receiver's request handler
        return true;
      }
      return undelivered().total < before;
    };
    for (let missing = undelivered().total; missing > 0; missing = undelivered().total) {
      await receiver.until(progressed(missing), "progress", STALL_MS).catch(() => {
        throw new CampaignFailure(`delivery stalled for ${STALL_MS} ms: ${undelivered().behind.join("; ")}`);
      });
      if (failure !== null) throw failure;
      log(`draining: ${undelivered().total} events still to deliver`);
    }
    checkDeliveries(receiver.deliveries, "end");
  } finally {
    if (server.process.exitCode === null) await server.kill9();
  }

  const acceptedCounts = new Map<string, number>();
  for (const d of receiver.deliveries) {
    if (d.status < 200 || d.status >= 300) continue;
    for (const id of d.eventIds) acceptedCounts.set(`${d.consumerId}/${id}`, (acceptedCounts.get(`${d.consumerId}/${id}`) ?? 0) + 1);
  }
  const storedBatches = new Set([...storedById.values()].map((e) => e.payload.batch));
  return {
    seed,
    cycles: options.cycles,
    attemptedBatches: attempts.size,
    acknowledgedBatches: acked.size,
    acknowledgedEvents: [...acked.values()].reduce((n, ids) => n + ids.length, 0),
    unacknowledgedButStored: [...storedBatches].filter((b) => !acked.has(b)).length,
    storedEvents: storedById.size,
    consumers: consumers.length,
    deliveries: receiver.deliveries.length,
    redeliveredEvents: [...acceptedCounts.values()].filter((n) => n > 1).length,
    cursorReads,
    maxRestartMs: Math.round(maxRestartMs),
  };
}
