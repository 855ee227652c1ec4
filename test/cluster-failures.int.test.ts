/**
 * Cluster mode under real failures, no mocks: a 3-node nats-server cluster
 * (R3) and two store server processes (`bun src/main.ts`, each given all
 * three URLs). A nats-server or a store node is killed with SIGKILL while
 * publishers keep publishing, or everything is stopped (SIGTERM) or killed
 * (SIGKILL) and restarted on the same store dirs and ports.
 *
 * What is checked is what a 201 promises: every acknowledged event is there,
 * through every node, with its payload; ids are dense per topic; a batch is
 * all there or not at all, also one whose answer never came.
 *
 * Durability of a kill of all three servers: nats-server 2.9.10 fsyncs
 * JetStream's files on a fixed 2-minute timer and has no setting for it
 * (`jetstream { sync_interval: always }` is refused, "unknown field"; the
 * option came with 2.10). It does write a message to its file before the
 * ack (the stream store is not async-flushed), so a process kill, even of
 * every server at once, loses nothing acknowledged — the page cache
 * survives it; only an OS crash or power loss of a quorum's machines within
 * those 2 minutes could. The SIGKILL-everything test asserts the former.
 */
import { describe, expect, test } from "bun:test";
import { connect } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { CLUSTER_RETRY_AFTER_SECONDS } from "../src/errors.ts";
import { type NatsCluster, requireNatsServer, startNats } from "./nats-server.ts";
import { type ServerProcess, startServerProcess } from "./server-process.ts";
import { startReceiver } from "./webhook-receiver.ts";

const available = requireNatsServer();

const PREFIX = "failures";
const STREAM = `${PREFIX}_events`;
const TOPICS = ["t", "u"] as const;
/** Each event says which batch it belongs to (`b`), its place in it (`i`) and the batch's size (`n`). */
const EVENT_SCHEMA = {
  eventType: "e",
  type: "object",
  properties: { b: { type: "string" }, i: { type: "integer" }, n: { type: "integer" } },
  required: ["b", "i", "n"],
  additionalProperties: false,
};
const NOTE_SCHEMA = { eventType: "note", type: "object", properties: { text: { type: "string" } }, required: ["text"] };
/** Longer than the store's publish timeout (5 s) plus a catch-up: a request that gets no answer by then never will. */
const REQUEST_TIMEOUT_MS = 20_000;

describe.skipIf(!available)("cluster mode under failures: 3 nats-servers (R3), 2 store processes", () => {
  test("kill -9 of the stream leader's nats-server under load: publishing goes on, the only refusals are 503 CLUSTER_UNAVAILABLE with Retry-After, every 201'd event is read back through both nodes, batches are whole", async () => {
    await using nats = await startNats(3);
    await using nodes = await startNodes(nats, 2);
    await createTopics(nodes[0]!.url);
    const leader = await streamLeader(nats.urls, STREAM);
    const victim = nats.servers.findIndex((_, i) => `n${i + 1}` === leader);

    const outcomes: Outcome[] = [];
    const stop = new AbortController();
    const publishers = Array.from({ length: 6 }, (_, p) => publish(nodes[p % 2]!, p, stop.signal, outcomes));
    // Load for a while before the kill: a duration, not a condition, so a sleep.
    await Bun.sleep(3_000);
    const killedAt = performance.now();
    await nats.servers[victim === -1 ? 0 : victim]!.kill();
    // The stream has no leader until a follower campaigns, 4–9 s after it last heard the leader
    // (nats-server's Raft election timeout): load goes on until both nodes have published again.
    await untilBothPublishedAfter(nodes, outcomes, killedAt, STREAM_ELECTION_DEADLINE_MS);
    stop.abort();
    const stoppedAt = performance.now();
    await Promise.all(publishers);

    const acked = outcomes.filter((o) => o.status === 201);
    const refused = outcomes.filter((o) => o.status !== 201);
    const times = acked.map((o) => o.doneAt).sort((a, b) => a - b);
    const before = times.filter((t) => t < killedAt);
    const after = times.filter((t) => t >= killedAt);
    const around = [...before.slice(-1), ...after];
    const longestGap = Math.max(...around.slice(1).map((t, i) => t - around[i]!));
    const sentAfterByNode = nodes.map((node) => acked.filter((o) => o.node === node.url && o.sentAt >= killedAt));
    const resumedAfter = sentAfterByNode.map((sent) => Math.round(Math.min(...sent.map((o) => o.doneAt)) - killedAt));

    // Each node follows the stream with a headers-only ordered consumer, which may have lived on the
    // killed server; the node's once-a-second look past its last message must bring it level on its own.
    const urls = nodes.map((node) => node.url);
    await untilHeadsAgree(urls, 5_000);
    console.log(
      `cluster-failures: killed nats-server ${leader ?? "n1 (leader unknown)"} (stream leader); longest gap between 201s around the kill ${Math.round(longestGap)} ms, ` +
        `first 201 to a batch sent after it ${resumedAfter.join("/")} ms after it per node, last ${Math.round(stoppedAt - times.at(-1)!)} ms before the end; ` +
        `201s: ${before.length} before, ${after.length} after (sent after it, per node ${sentAfterByNode.map((sent) => sent.length).join("/")}); ` +
        `503 CLUSTER_UNAVAILABLE: ${refused.length}`,
    );

    // The nats backend maps every failed publish (no quorum, timeout, lost races) to ClusterUnavailableError; WRITE_FAILED is the file backend's.
    expect(refused.filter((o) => !(o.status === 503 && o.code === "CLUSTER_UNAVAILABLE" && o.retryAfter === String(CLUSTER_RETRY_AFTER_SECONDS) && typeof o.error === "string")).map(describeOutcome)).toEqual([]);
    expect(before.length).toBeGreaterThan(0);
    expect(after.length).toBeGreaterThan(0);
    // Both nodes publish again after the kill, not just the one whose server survived.
    expect(sentAfterByNode.map((sent) => sent.length > 0)).toEqual([true, true]);

    const [a, b] = await Promise.all(urls.map(readAll));
    expect(b).toEqual(a!);
    const found = verifyBatches(outcomes, a!);
    console.log(`cluster-failures: of the ${refused.length} batches answered 503, stored all the same (whole): ${found.storedUnacked}`);
  }, 120_000);

  test("kill -9 of a store node mid-publishing: each of its unanswered batches is whole or absent, the other node answers 201 throughout, every 201'd event is there", async () => {
    await using nats = await startNats(3);
    await using nodes = await startNodes(nats, 2);
    await createTopics(nodes[0]!.url);
    const [victim, survivor] = [nodes[0]!, nodes[1]!];

    const outcomes: Outcome[] = [];
    const stop = new AbortController();
    const publishers = Array.from({ length: 6 }, (_, p) => publish(p % 2 === 0 ? victim : survivor, p, stop.signal, outcomes));
    await Bun.sleep(2_000);
    const killedAt = performance.now();
    await victim.kill9();
    await Bun.sleep(2_000);
    stop.abort();
    await Promise.all(publishers);

    const onVictim = outcomes.filter((o) => o.node === victim.url);
    const onSurvivor = outcomes.filter((o) => o.node === survivor.url);
    expect(onSurvivor.filter((o) => o.status !== 201).map(describeOutcome)).toEqual([]);
    expect(onSurvivor.filter((o) => o.doneAt > killedAt).length).toBeGreaterThan(0);
    // Each of the victim's three publishers stops at its first request without an answer (in flight at the kill, or refused after it).
    expect(onVictim.filter((o) => o.status !== 201).map((o) => o.status)).toEqual([NO_ANSWER, NO_ANSWER, NO_ANSWER]);
    expect(onVictim.filter((o) => o.status === 201).length).toBeGreaterThan(0);

    // A node started after the kill replays the stream and reads exactly what the survivor reads.
    await using late = await startNodes(nats, 1);
    const urls = [survivor.url, late[0]!.url];
    await untilHeadsAgree(urls);
    const [a, b] = await Promise.all(urls.map(readAll));
    expect(b).toEqual(a!);
    const found = verifyBatches(outcomes, a!);
    console.log(`cluster-failures: killed a store node: ${onVictim.length - 3} of its batches answered 201, 3 unanswered, of which stored: ${found.storedUnacked}; the other node answered ${onSurvivor.length} × 201`);
  }, 120_000);

  for (const how of ["SIGTERM", "SIGKILL"] as const) {
    test(`${how} of both store nodes and all three nats-servers, restart on the same dirs and ports: every acknowledged event, the topics with their schemas and the consumer are back, and it delivers new events`, async () => {
      await using nats = await startNats(3);
      const first = await startNodes(nats, 2);
      await using receiver = startReceiver();
      let consumerId: string;
      let topicDocs: Record<string, unknown>[];
      let earlier: StoredEvents;
      const outcomes: Outcome[] = [];
      try {
        const [a, b] = [first[0]!, first[1]!];
        // On the node that registers: a topic read from KV right after another node's put may be missing on a lagging replica.
        expect((await call(a.url, "POST", "/topics", { name: "t", schemas: [EVENT_SCHEMA] })).status).toBe(201);
        expect((await call(a.url, "POST", "/topics", { name: "u", schemas: [EVENT_SCHEMA, NOTE_SCHEMA] })).status).toBe(201);
        const registered = await call(a.url, "POST", "/consumers/register", { callback: receiver.url, topics: { t: null, u: null } });
        expect(registered).toMatchObject({ status: 201 });
        consumerId = registered.body.consumerId;

        for (let k = 0; k < 30; k++) outcomes.push(await publishOne(k % 2 === 0 ? a : b, makeBatch(`s${k}`, seeded(k))));
        await receiver.untilAccepted(ackedIds(outcomes), 30_000);
        topicDocs = await Promise.all(TOPICS.map(async (topic) => (await call(a.url, "GET", `/topics/${topic}`)).body));
        earlier = await readAll(a.url);

        // The last writes: stopped or killed the moment their 201s are in.
        const burst = await Promise.all(Array.from({ length: 10 }, (_, k) => publishOne(k % 2 === 0 ? a : b, makeBatch(`last${k}`, seeded(100 + k)))));
        outcomes.push(...burst);
        expect(outcomes.map((o) => o.status)).toEqual(Array(40).fill(201));
        if (how === "SIGTERM") {
          expect(await Promise.all(first.map((node) => node.terminate()))).toEqual([0, 0]);
          await Promise.all(nats.servers.map((server) => server.stop()));
        } else {
          await Promise.all([...first.map((node) => node.kill9()), ...nats.servers.map((server) => server.kill())]);
        }
      } finally {
        await first[Symbol.asyncDispose]();
      }

      await nats.restart();
      await untilStreamsLed(nats.urls, [STREAM, `KV_${PREFIX}_topics`, `KV_${PREFIX}_consumers`]);
      await using nodes = await startNodes(nats, 2);
      const urls = nodes.map((node) => node.url);
      await untilHeadsAgree(urls);
      const heads = { t: 0, u: 0 };
      for (const id of ackedIds(outcomes)) {
        const [topic, n] = id.split("-") as ["t" | "u", string];
        heads[topic] = Math.max(heads[topic], Number(n));
      }
      for (const url of urls) {
        expect((await call(url, "GET", "/topics")).body).toEqual({ topics: ["t", "u"] });
        for (const [i, topic] of TOPICS.entries()) {
          expect((await call(url, "GET", `/topics/${topic}`)).body).toEqual({ ...topicDocs[i]!, sequence: heads[topic] });
        }
        const consumer = await call(url, "GET", `/consumers/${consumerId}`);
        expect(consumer.status).toBe(200);
        expect(consumer.body).toMatchObject({ id: consumerId, callback: receiver.url });
        expect(Object.keys(consumer.body.topics).sort()).toEqual(["t", "u"]);
      }
      const [x, y] = await Promise.all(urls.map(readAll));
      expect(y).toEqual(x!);
      // Byte for byte what was read before the stop (timestamps too), then the last writes.
      for (const topic of TOPICS) expect(x![topic].slice(0, earlier[topic].length)).toEqual(earlier[topic]);
      expect(verifyBatches(outcomes, x!)).toEqual({ acked: 40, storedUnacked: 0 });

      // The consumer goes on: new events published after the restart reach the same receiver.
      const after = [await publishOne(nodes[0]!, makeBatch("after0", seeded(200))), await publishOne(nodes[1]!, makeBatch("after1", seeded(201)))];
      expect(after.map((o) => o.status)).toEqual([201, 201]);
      outcomes.push(...after);
      await receiver.untilAccepted(ackedIds(after), 30_000);
      // At least once: duplicates are allowed (both nodes deliver now), events no-one got a 201 for are not.
      const known = new Set(ackedIds(outcomes));
      expect(receiver.acceptedIds().filter((id) => !known.has(id))).toEqual([]);
      expect(new Set(receiver.acceptedIds()).size).toBe(known.size);
    }, 120_000);
  }
});

// ---------------------------------------------------------------------------

const NO_ANSWER = "no answer";

interface SentEvent {
  topic: string;
  type: string;
  payload: { b: string; i: number; n: number };
}

interface Outcome {
  tag: string;
  events: SentEvent[];
  /** The node's URL. */
  node: string;
  /** performance.now() when the request was sent, and when its answer (or the failure) came. */
  sentAt: number;
  doneAt: number;
  status: number | typeof NO_ANSWER;
  ids?: string[];
  code?: string;
  error?: unknown;
  retryAfter?: string | null;
}

interface StoredEvent {
  id: string;
  timestamp: string;
  type: string;
  payload: SentEvent["payload"];
}

type StoredEvents = Record<(typeof TOPICS)[number], StoredEvent[]>;

type Nodes = ServerProcess[] & AsyncDisposable;

/** `count` store processes on the cluster, R3; disposing kills whichever still run. */
async function startNodes(nats: NatsCluster, count: number): Promise<Nodes> {
  const env = { NATS_URL: nats.urls.join(","), NATS_REPLICAS: "3", NATS_PREFIX: PREFIX };
  const nodes: ServerProcess[] = [];
  const dispose = async () => void (await Promise.all(nodes.map((node) => node.kill9())));
  try {
    // One after the other: the first creates the stream and buckets.
    for (let i = 0; i < count; i++) nodes.push(await startServerProcess(env));
  } catch (error) {
    await dispose();
    throw error;
  }
  return Object.assign(nodes, { [Symbol.asyncDispose]: dispose });
}

async function createTopics(url: string): Promise<void> {
  for (const name of TOPICS) expect((await call(url, "POST", "/topics", { name, schemas: [EVENT_SCHEMA] })).status).toBe(201);
}

async function call(url: string, method: string, path: string, body?: unknown): Promise<{ status: number; headers: Headers; body: any }> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text === "" ? null : JSON.parse(text) };
}

/** A small deterministic generator, so a failing run can be replayed batch by batch. */
function seeded(seed: number): () => number {
  let state = (seed * 2654435761 + 1) >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** 1–5 events, each on `t` or `u` at random, so many batches span both topics. */
function makeBatch(tag: string, random: () => number): SentEvent[] {
  const n = 1 + Math.floor(random() * 5);
  return Array.from({ length: n }, (_, i) => ({ topic: TOPICS[random() < 0.5 ? 0 : 1]!, type: "e", payload: { b: tag, i, n } }));
}

async function publishOne(node: ServerProcess, events: SentEvent[]): Promise<Outcome> {
  const tag = events[0]!.payload.b;
  const sentAt = performance.now();
  try {
    const answer = await call(node.url, "POST", "/events", events);
    return {
      tag,
      events,
      node: node.url,
      sentAt,
      doneAt: performance.now(),
      status: answer.status,
      ids: answer.body?.eventIds,
      code: answer.body?.code,
      error: answer.body?.error,
      retryAfter: answer.headers.get("retry-after"),
    };
  } catch (error) {
    return { tag, events, node: node.url, sentAt, doneAt: performance.now(), status: NO_ANSWER, error: String(error) };
  }
}

/** Two of nats-server's longest election timeouts (9 s) and the vote: by then the stream has a leader again, or the test fails. */
const STREAM_ELECTION_DEADLINE_MS = 25_000;
/** How long both nodes must keep publishing after the kill, so "publishing goes on" is more than one lucky 201 each. */
const PUBLISHING_AGAIN_MS = 2_000;

/**
 * Until every node has answered 201 to batches sent after `since` for
 * PUBLISHING_AGAIN_MS (counted from its first such 201: answers to batches
 * already in flight at the kill prove nothing); throws after `deadlineMs`
 * naming the nodes that had none.
 */
async function untilBothPublishedAfter(nodes: readonly ServerProcess[], outcomes: readonly Outcome[], since: number, deadlineMs: number): Promise<void> {
  const deadline = since + deadlineMs;
  for (;;) {
    const firsts = nodes.map((node) => outcomes.find((o) => o.node === node.url && o.status === 201 && o.sentAt >= since)?.doneAt);
    const now = performance.now();
    if (firsts.every((first) => first !== undefined && now - first >= PUBLISHING_AGAIN_MS)) return;
    if (now > deadline) {
      const silent = nodes.filter((_, i) => firsts[i] === undefined).map((node) => node.url);
      throw new Error(`no 201 within ${deadlineMs} ms of the kill from ${silent.join(", ")}`);
    }
    await Bun.sleep(50);
  }
}

/** After a 503, before the next batch: short of Retry-After (1 s), so the gaps measured are the cluster's, to this resolution. */
const PAUSE_AFTER_503_MS = 100;

/**
 * Publishes new batches back to back until `signal` (a new batch after a
 * 503, not a retry: each batch is sent once); stops at the first request
 * without an answer (the node is gone).
 */
async function publish(node: ServerProcess, publisher: number, signal: AbortSignal, outcomes: Outcome[]): Promise<void> {
  const random = seeded(publisher + 1);
  for (let k = 0; !signal.aborted; k++) {
    const outcome = await publishOne(node, makeBatch(`p${publisher}-${k}`, random));
    outcomes.push(outcome);
    if (outcome.status === NO_ANSWER) return;
    // Pacing, not waiting for a condition: without it a fast-failing publish (no responders) spins.
    if (outcome.status === 503) await Bun.sleep(PAUSE_AFTER_503_MS);
  }
}

function ackedIds(outcomes: readonly Outcome[]): string[] {
  return outcomes.filter((o) => o.status === 201).flatMap((o) => o.ids!);
}

function describeOutcome(o: Outcome): string {
  return `${o.tag} on ${o.node}: ${o.status} ${o.code ?? ""} retry-after=${o.retryAfter ?? "none"} ${String(o.error ?? "")}`;
}

async function readAll(url: string): Promise<StoredEvents> {
  const all = { t: [], u: [] } as StoredEvents;
  for (const topic of TOPICS) {
    for (;;) {
      const since = all[topic].length === 0 ? "" : `&sinceEventId=${all[topic].at(-1)!.id}`;
      const page = await call(url, "GET", `/topics/${topic}/events?limit=1000${since}`);
      expect(page.status).toBe(200);
      if (page.body.events.length === 0) break;
      all[topic].push(...page.body.events);
    }
  }
  return all;
}

/**
 * Every check on what was read back, collected so a failure lists every
 * broken batch at once: ids dense from 1 per topic; every event belongs to
 * a batch that was sent, with its topic, type and payload; a stored batch
 * is whole (each of its events once, consecutive within each topic); every
 * 201 batch is stored under exactly the ids it was answered; a stored batch
 * nobody got a 201 for was answered 503 or not at all.
 */
function verifyBatches(outcomes: readonly Outcome[], stored: StoredEvents): { acked: number; storedUnacked: number } {
  const problems: string[] = [];
  const sent = new Map(outcomes.map((o) => [o.tag, o]));
  const byBatch = new Map<string, { topic: string; sequence: number; event: StoredEvent }[]>();
  for (const topic of TOPICS) {
    const ids = stored[topic].map((event) => event.id);
    const dense = Array.from({ length: ids.length }, (_, i) => `${topic}-${i + 1}`);
    if (JSON.stringify(ids) !== JSON.stringify(dense)) problems.push(`${topic}: ids are not ${topic}-1..${topic}-${ids.length}: ${ids.join(",")}`);
    stored[topic].forEach((event, i) => {
      const outcome = sent.get(event.payload?.b);
      const expected = outcome?.events[event.payload.i];
      if (expected === undefined || expected.topic !== topic || expected.type !== event.type || JSON.stringify(expected.payload) !== JSON.stringify(event.payload)) {
        problems.push(`${event.id} was never sent as it is stored: ${JSON.stringify(event)}`);
        return;
      }
      const entries = byBatch.get(outcome!.tag) ?? [];
      entries.push({ topic, sequence: i + 1, event });
      byBatch.set(outcome!.tag, entries);
    });
  }
  let storedUnacked = 0;
  for (const outcome of outcomes) {
    const entries = (byBatch.get(outcome.tag) ?? []).sort((x, y) => x.event.payload.i - y.event.payload.i);
    if (outcome.status === 201) {
      const ids = entries.map((entry) => entry.event.id);
      if (JSON.stringify(ids) !== JSON.stringify(outcome.ids)) problems.push(`${outcome.tag} answered 201 ${JSON.stringify(outcome.ids)} but stored as ${JSON.stringify(ids)}`);
    } else if (entries.length > 0) {
      storedUnacked++;
      if (outcome.status !== 503 && outcome.status !== NO_ANSWER) problems.push(`${outcome.tag} answered ${outcome.status} but is stored`);
    }
    if (entries.length === 0) continue;
    if (JSON.stringify(entries.map((entry) => entry.event.payload.i)) !== JSON.stringify(outcome.events.map((_, i) => i))) {
      problems.push(`${outcome.tag} is not whole (or stored twice): events ${entries.map((entry) => entry.event.id).join(",")} of ${outcome.events.length}`);
    }
    for (const topic of TOPICS) {
      const sequences = entries.filter((entry) => entry.topic === topic).map((entry) => entry.sequence);
      if (sequences.some((sequence, i) => i > 0 && sequence !== sequences[i - 1]! + 1)) problems.push(`${outcome.tag}: its ${topic} events are not consecutive: ${sequences.join(",")}`);
    }
  }
  expect(problems).toEqual([]);
  return { acked: outcomes.filter((o) => o.status === 201).length, storedUnacked };
}

/** Until every node reports the same head for each topic (each follows the stream on its own). */
async function untilHeadsAgree(urls: readonly string[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let seen = "";
  for (;;) {
    const heads = await Promise.all(urls.map(async (url) => Promise.all(TOPICS.map(async (topic) => (await call(url, "GET", `/topics/${topic}`)).body?.sequence))));
    seen = JSON.stringify(heads);
    if (heads.every((h) => JSON.stringify(h) === JSON.stringify(heads[0]))) return;
    if (Date.now() > deadline) throw new Error(`nodes disagree on the heads after ${timeoutMs} ms: ${seen}`);
    await Bun.sleep(50);
  }
}

/** The name of the server leading `stream` (`n1`…`n3`), or null when JetStream does not say. */
async function streamLeader(urls: readonly string[], stream: string): Promise<string | null> {
  const connection = await connect({ servers: [...urls] });
  try {
    const manager = await jetstreamManager(connection);
    return (await manager.streams.info(stream)).cluster?.leader ?? null;
  } finally {
    await connection.close();
  }
}

/** Until each stream has a leader again after a restart of the whole cluster (a store node opening before would fail to start). */
async function untilStreamsLed(urls: readonly string[], streams: readonly string[], timeoutMs = 30_000): Promise<void> {
  const connection = await connect({ servers: [...urls] });
  try {
    const manager = await jetstreamManager(connection, { timeout: 2_000 });
    const deadline = Date.now() + timeoutMs;
    for (const stream of streams) {
      for (;;) {
        const info = await manager.streams.info(stream).catch((error: unknown) => error as Error);
        if (!(info instanceof Error) && info.cluster?.leader) break;
        if (Date.now() > deadline) throw new Error(`stream ${stream} has no leader ${timeoutMs} ms after the restart: ${info instanceof Error ? info.message : "none elected"}`);
        await Bun.sleep(100);
      }
    }
  } finally {
    await connection.close();
  }
}
