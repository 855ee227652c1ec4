/**
 * The cluster kill -9 campaign (bench/cluster-crash-campaign.ts runs it): a
 * 3-node nats-server cluster at R3 and two store nodes as child processes,
 * concurrent publishers and readers spread over both nodes. Each cycle
 * SIGKILLs a random store node or a random nats-server, keeps publishing
 * through what is left, restarts the victim in place (a nats-server on its
 * ports and store dir, see test/nats-server.ts `restart`), and then checks,
 * through both store nodes:
 *
 * - every acknowledged id is readable, with the payload it was sent with;
 * - ids are dense per topic (1..head, no gap) and no id was acknowledged to
 *   two batches; a batch retried after a 503 or a lost connection (same
 *   Idempotency-Key, on either node) is stored once;
 * - no batch is partial: a batch's events are all stored or none is;
 * - nothing a client saw disappears: every event a reader got from either
 *   node while the faults happened is still there, with the same payload,
 *   and both nodes hold the same log.
 *
 * Consumers are not part of it yet: without consumer leases every node
 * dispatches every consumer.
 */
import { startNats, type NatsCluster } from "./nats-server.ts";
import { type ServerProcess, startServerProcess } from "./server-process.ts";
import { prng } from "./crash-campaign.ts";

export interface ClusterCrashCampaignOptions {
  /** Kill cycles. */
  cycles: number;
  /** Concurrent publishing clients, each sending every batch to a random live store node. @default 8 */
  publishers?: number;
  /** Batches acknowledged in a cycle before the kill may come. @default 30 */
  acksPerCycle?: number;
  /** Batches acknowledged while the victim is down (the survivors must serve). @default 10 */
  acksWhileDown?: number;
  /** Seed of the campaign's choices (victims, batch shapes, kill moments). @default random */
  seed?: number;
  /** Progress lines. @default none */
  log?: (line: string) => void;
}

export interface ClusterCrashCampaignResult {
  seed: number;
  cycles: number;
  storeNodeKills: number;
  natsServerKills: number;
  attemptedBatches: number;
  acknowledgedBatches: number;
  acknowledgedEvents: number;
  /** 503 answers (each retried with the same Idempotency-Key). */
  unavailable503: number;
  /** Requests whose connection failed (a killed node), retried likewise. */
  connectionFailures: number;
  /** 201s answered as replays of an earlier attempt (Idempotent-Replayed). */
  replayedAnswers: number;
  /** Batches stored although no attempt got its 201: allowed, never partial. */
  unacknowledgedButStored: number;
  storedEvents: number;
  /** Distinct events readers saw while the faults happened. */
  eventsSeenByReaders: number;
  /** Slowest restart of a victim until it was ready, in ms. */
  maxRestartMs: number;
  /** Slowest time, after the publishers stopped, until both store nodes showed the same heads, in ms. */
  maxConvergeMs: number;
}

const TOPICS = ["a", "b", "c"];
const SCHEMAS = [{ eventType: "e", type: "object", properties: { batch: { type: "string" } }, required: ["batch"] }];
/** A phase with no acknowledged batch for this long fails the campaign (the cluster should serve with one member down). */
const PROGRESS_DEADLINE_MS = 60_000;
/**
 * Both store nodes must show the same heads within this long after the publishers stop.
 * Generous on purpose: how long they took is reported (maxConvergeMs), the deadline only
 * tells "late" from "never".
 */
const CONVERGE_DEADLINE_MS = 180_000;
/** Attempts of one batch (503s and lost connections), each on a random live node. */
const MAX_ATTEMPTS = 20;

interface StoredEvent {
  id: string;
  payload: { batch: string; size: number; i: number };
}

export class ClusterCampaignFailure extends Error {
  override name = "ClusterCampaignFailure";
}

function check(condition: boolean, message: () => string): asserts condition {
  if (!condition) throw new ClusterCampaignFailure(message());
}

async function api(url: string, method: string, path: string, body?: unknown): Promise<any> {
  const response = await fetch(`${url}${path}`, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
  });
  const text = await response.text();
  if (response.status >= 300) throw new ClusterCampaignFailure(`${method} ${path} on ${url} answered ${response.status}: ${text}`);
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

async function heads(url: string): Promise<string> {
  const values = await Promise.all(TOPICS.map(async (topic) => (await api(url, "GET", `/topics/${topic}`)).sequence as number));
  return values.join(",");
}

export async function runClusterCrashCampaign(options: ClusterCrashCampaignOptions): Promise<ClusterCrashCampaignResult> {
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  const random = prng(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const log = options.log ?? (() => {});
  const publishers = options.publishers ?? 8;
  const acksPerCycle = options.acksPerCycle ?? 30;
  const acksWhileDown = options.acksWhileDown ?? 10;

  const acked = new Map<string, string[]>();
  const attempts = new Map<string, number>();
  /** Acknowledged id → its batch: an id acknowledged twice is a duplicate. */
  const ackedIdOwner = new Map<string, string>();
  /** Every event a reader got, id → payload JSON. */
  const seen = new Map<string, string>();
  /** Per topic, the highest sequence a reader saw. */
  const seenHead = new Map<string, number>();
  const counts = { storeNodeKills: 0, natsServerKills: 0, unavailable503: 0, connectionFailures: 0, replayedAnswers: 0 };
  let maxRestartMs = 0;
  /** After the publishers stop: until both nodes show the same heads (the last cycle's, and the slowest). */
  let convergeMs = 0;
  let maxConvergeMs = 0;
  let storedEvents = 0;
  let storedBatches = new Set<string>();

  const nats: NatsCluster = await startNats(3);
  const env = { NATS_URL: nats.urls.join(","), NATS_REPLICAS: "3", NATS_PREFIX: "campaign" };
  const nodes: (ServerProcess | null)[] = [null, null];
  const liveUrls = () => nodes.filter((node): node is ServerProcess => node !== null).map((node) => node.url);

  function observe(event: StoredEvent, when: string): void {
    const json = JSON.stringify(event.payload);
    const before = seen.get(event.id);
    check(before === undefined || before === json, () => `${when}: ${event.id} was read as ${before}, now as ${json}`);
    seen.set(event.id, json);
    const topic = event.id.slice(0, event.id.lastIndexOf("-"));
    seenHead.set(topic, Math.max(seenHead.get(topic) ?? 0, Number(event.id.slice(topic.length + 1))));
  }

  /** Waits for both nodes to show the same heads, reads everything through each and checks the guarantees. */
  async function verify(cycle: number): Promise<void> {
    const urls = liveUrls();
    const started = performance.now();
    for (let round = 0; ; round++) {
      const deadline = Date.now() + CONVERGE_DEADLINE_MS;
      let agreed: string;
      for (;;) {
        const all = await Promise.all(urls.map(heads));
        if (all.every((h) => h === all[0])) {
          agreed = all[0]!;
          convergeMs = performance.now() - started;
          maxConvergeMs = Math.max(maxConvergeMs, convergeMs);
          break;
        }
        check(Date.now() < deadline, () => `cycle ${cycle}: the store nodes disagree on the heads of ${TOPICS.join(",")} for ${CONVERGE_DEADLINE_MS} ms: ${all.join(" vs ")}`);
        await Bun.sleep(20);
      }
      const logs = await Promise.all(urls.map(async (url) => Promise.all(TOPICS.map((topic) => readAll(url, topic)))));
      // A publish answered 503 on a timeout may still land after the publishers stopped: read again then.
      const after = await Promise.all(urls.map(heads));
      if (after.some((h) => h !== agreed)) {
        check(round < 5, () => `cycle ${cycle}: the heads keep moving with no publisher running`);
        continue;
      }
      const reference = JSON.stringify(logs[0]);
      logs.forEach((nodeLog, n) => check(JSON.stringify(nodeLog) === reference, () => `cycle ${cycle}: store node ${n} holds a different log than node 0`));
      checkLog(logs[0]!, cycle);
      return;
    }
  }

  function checkLog(topicLogs: StoredEvent[][], cycle: number): void {
    const byId = new Map<string, StoredEvent>();
    topicLogs.forEach((events, t) => {
      const topic = TOPICS[t]!;
      events.forEach((event, i) => {
        check(event.id === `${topic}-${i + 1}`, () => `cycle ${cycle}: ids of '${topic}' are not dense: position ${i + 1} holds ${event.id}`);
        byId.set(event.id, event);
      });
    });
    for (const [batch, ids] of acked) {
      ids.forEach((id, i) => {
        const stored = byId.get(id);
        check(stored !== undefined, () => `cycle ${cycle}: acknowledged event ${id} (batch ${batch}) is lost`);
        check(stored.payload.batch === batch && stored.payload.i === i && stored.payload.size === ids.length, () => `cycle ${cycle}: ${id} holds ${JSON.stringify(stored.payload)}, acknowledged as batch ${batch} #${i}`);
      });
    }
    const countByBatch = new Map<string, number>();
    for (const event of byId.values()) countByBatch.set(event.payload.batch, (countByBatch.get(event.payload.batch) ?? 0) + 1);
    for (const [batch, count] of countByBatch) {
      const size = attempts.get(batch);
      check(size === count, () => `cycle ${cycle}: batch ${batch} has ${count} events stored, it has ${size} (partial or stored twice)`);
    }
    for (const [id, json] of seen) {
      const stored = byId.get(id);
      check(stored !== undefined, () => `cycle ${cycle}: ${id}, read by a client before, is gone`);
      check(JSON.stringify(stored.payload) === json, () => `cycle ${cycle}: ${id} was read as ${json}, is now ${JSON.stringify(stored.payload)}`);
    }
    storedEvents = byId.size;
    storedBatches = new Set(countByBatch.keys());
  }

  try {
    nodes[0] = await startServerProcess(env);
    for (const name of TOPICS) await api(nodes[0].url, "POST", "/topics", { name, schemas: SCHEMAS });
    nodes[1] = await startServerProcess(env);

    for (let cycle = 0; cycle < options.cycles; cycle++) {
      let stopping = false;
      let failure: unknown = null;

      const publish = async (client: number) => {
        for (let n = 0; !stopping; n++) {
          const batch = `${cycle}.${client}.${n}`;
          const size = 1 + Math.floor(random() * 4);
          const events = Array.from({ length: size }, (_, i) => ({ topic: pick(TOPICS), type: "e", payload: { batch, size, i } }));
          const body = JSON.stringify(events);
          attempts.set(batch, size);
          for (let attempt = 1; attempt <= MAX_ATTEMPTS && (attempt === 1 || !stopping); attempt++) {
            const urls = liveUrls();
            if (urls.length === 0) break;
            const url = pick(urls);
            let status: number;
            let text: string;
            let replayed: boolean;
            try {
              const response = await fetch(`${url}/events`, { method: "POST", body, headers: { "content-type": "application/json", "idempotency-key": `k-${batch}` } });
              status = response.status;
              replayed = response.headers.get("idempotent-replayed") === "true";
              text = await response.text();
            } catch {
              counts.connectionFailures++; // the node was killed meanwhile: outcome unknown, retried
              await Bun.sleep(20 + random() * 80);
              continue;
            }
            if (status === 503) {
              counts.unavailable503++;
              await Bun.sleep(20 + random() * 80);
              continue;
            }
            check(status === 201, () => `cycle ${cycle}: POST /events (batch ${batch}, attempt ${attempt}) on ${url} answered ${status}: ${text}`);
            const ids = (JSON.parse(text) as { eventIds: string[] }).eventIds;
            check(ids.length === size, () => `cycle ${cycle}: batch ${batch} of ${size} events was answered ${ids.length} ids`);
            for (const id of ids) {
              const owner = ackedIdOwner.get(id);
              check(owner === undefined || owner === batch, () => `cycle ${cycle}: ${id} was acknowledged to batch ${owner} and again to batch ${batch}`);
              ackedIdOwner.set(id, batch);
            }
            if (replayed) counts.replayedAnswers++;
            acked.set(batch, ids);
            break;
          }
        }
      };
      const read = async () => {
        while (!stopping) {
          const urls = liveUrls();
          const topic = pick(TOPICS);
          // From a random event seen before (so it exists on every node that is caught up), or from the start.
          const since = Math.floor(random() * ((seenHead.get(topic) ?? 0) + 1));
          try {
            const url = pick(urls);
            const path = `/topics/${topic}/events?limit=50${since === 0 ? "" : `&sinceEventId=${topic}-${since}`}`;
            const response = await fetch(`${url}${path}`);
            if (response.status === 200) {
              const { events } = (await response.json()) as { events: StoredEvent[] };
              events.forEach((event, i) => {
                check(event.id === `${topic}-${since + i + 1}`, () => `cycle ${cycle}: a page of '${topic}' after ${since} holds ${event.id} at position ${i + 1}`);
                observe(event, `cycle ${cycle} (reading)`);
              });
            } else {
              const text = await response.text();
              check(response.status === 503, () => `cycle ${cycle}: GET ${path} on ${url} answered ${response.status}: ${text}`);
            }
          } catch (error) {
            if (error instanceof ClusterCampaignFailure) throw error;
            // The node was killed meanwhile.
          }
          await Bun.sleep(10);
        }
      };
      const running = [...Array.from({ length: publishers }, (_, client) => publish(client)), read(), read()].map((task) =>
        task.catch((error: unknown) => {
          failure ??= error;
        }),
      );
      const waitForAcks = async (count: number, phase: string) => {
        const target = acked.size + count;
        let last = acked.size;
        let lastProgress = Date.now();
        while (acked.size < target) {
          if (failure !== null) throw failure;
          if (acked.size > last) [last, lastProgress] = [acked.size, Date.now()];
          check(Date.now() - lastProgress < PROGRESS_DEADLINE_MS, () => `cycle ${cycle}: no batch acknowledged for ${PROGRESS_DEADLINE_MS} ms ${phase}`);
          await Bun.sleep(5);
        }
      };

      try {
        await waitForAcks(acksPerCycle, "before the kill");
        await Bun.sleep(random() * 40);
        let victim: string;
        let restart: () => Promise<void>;
        if (random() < 0.5) {
          const n = Math.floor(random() * nodes.length);
          victim = `store node ${n}`;
          await nodes[n]!.kill9();
          nodes[n] = null;
          counts.storeNodeKills++;
          restart = async () => void (nodes[n] = await startServerProcess(env));
        } else {
          const server = pick(nats.servers);
          victim = `nats-server ${server.url}`;
          await server.kill();
          counts.natsServerKills++;
          restart = () => server.restart();
        }
        await waitForAcks(acksWhileDown, `with ${victim} down`);
        const restartStarted = performance.now();
        await restart();
        maxRestartMs = Math.max(maxRestartMs, performance.now() - restartStarted);
        await waitForAcks(1, `after ${victim} was restarted`);
        log(`cycle ${cycle + 1}/${options.cycles}: killed and restarted ${victim}`);
      } finally {
        stopping = true;
        await Promise.all(running);
      }
      if (failure !== null) throw failure;
      await verify(cycle);
      log(`cycle ${cycle + 1}/${options.cycles}: ${acked.size} batches acknowledged, ${storedEvents} events stored, ${seen.size} seen by readers, 503s ${counts.unavailable503}, lost connections ${counts.connectionFailures}, nodes agreed after ${Math.round(convergeMs)} ms`);
    }
  } finally {
    await Promise.all(nodes.map((node) => node?.kill9()));
    await nats.stop();
  }

  return {
    seed,
    cycles: options.cycles,
    ...counts,
    attemptedBatches: attempts.size,
    acknowledgedBatches: acked.size,
    acknowledgedEvents: [...acked.values()].reduce((n, ids) => n + ids.length, 0),
    unacknowledgedButStored: [...storedBatches].filter((b) => !acked.has(b)).length,
    storedEvents,
    eventsSeenByReaders: seen.size,
    maxRestartMs: Math.round(maxRestartMs),
    maxConvergeMs: Math.round(maxConvergeMs),
  };
}
