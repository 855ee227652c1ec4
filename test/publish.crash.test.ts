import { expect, test } from "bun:test";
import { join } from "node:path";
import { startServerProcess } from "./server-process.ts";
import { tempDir } from "./utils.ts";

const CYCLES = 10;
const CLIENTS = 16;
const TOPICS = ["a", "b"];

interface Attempt {
  batch: string;
  size: number;
}

interface StoredEvent {
  id: string;
  payload: { batch: string; size: number; i: number };
}

/** One publisher: random batches over both topics until the server dies. */
async function publishUntilDown(url: string, client: number, cycle: number, acked: Map<string, string[]>, attempts: Attempt[]) {
  for (let n = 0; ; n++) {
    const batch = `${cycle}.${client}.${n}`;
    const size = 1 + Math.floor(Math.random() * 4);
    const events = Array.from({ length: size }, (_, i) => ({
      topic: TOPICS[Math.floor(Math.random() * TOPICS.length)]!,
      type: "e",
      payload: { batch, size, i },
    }));
    attempts.push({ batch, size });
    try {
      const res = await fetch(`${url}/events`, { method: "POST", body: JSON.stringify(events), headers: { "content-type": "application/json" } });
      if (res.status !== 201) throw new Error(`publish answered ${res.status}: ${await res.text()}`);
      acked.set(batch, (await res.json()).eventIds);
    } catch (error) {
      if (error instanceof Error && error.message.startsWith("publish answered")) throw error;
      return; // the server is gone
    }
  }
}

async function readAll(url: string, topic: string): Promise<StoredEvent[]> {
  const all: StoredEvent[] = [];
  for (;;) {
    const since = all.length === 0 ? "" : `&sinceEventId=${all.at(-1)!.id}`;
    const res = await fetch(`${url}/topics/${topic}/events?limit=10000${since}`);
    const { events } = (await res.json()) as { events: StoredEvent[] };
    if (events.length === 0) return all;
    all.push(...events);
  }
}

test(`kill -9 while ${CLIENTS} clients publish, ${CYCLES} times: acknowledged events survive, ids dense, no partial batch`, async () => {
  using dir = tempDir();
  const env = { DATA_DIR: join(dir.path, "data"), CONFIG_DIR: join(dir.path, "config") };
  const acked = new Map<string, string[]>();
  const attempts: Attempt[] = [];
  let server = await startServerProcess(env);
  for (const name of TOPICS) {
    const res = await fetch(`${server.url}/topics`, { method: "POST", body: JSON.stringify({ name, schemas: [{ eventType: "e", type: "object" }] }) });
    expect(res.status).toBe(201);
  }

  for (let cycle = 0; cycle < CYCLES; cycle++) {
    const publishers = Array.from({ length: CLIENTS }, (_, client) => publishUntilDown(server.url, client, cycle, acked, attempts));
    const ackedBefore = acked.size;
    // Let load build up, then kill without warning at a random point.
    while (acked.size < ackedBefore + 50) await Bun.sleep(5);
    await Bun.sleep(Math.random() * 50);
    await server.kill9();
    await Promise.all(publishers);
    server = await startServerProcess(env);

    const stored = new Map<string, StoredEvent[]>();
    for (const topic of TOPICS) {
      const events = await readAll(server.url, topic);
      expect(events.map((e) => e.id)).toEqual(events.map((_, i) => `${topic}-${i + 1}`));
      stored.set(topic, events);
    }
    const byId = new Map([...stored.values()].flat().map((e) => [e.id, e]));
    for (const [batch, ids] of acked) {
      for (const [i, id] of ids.entries()) {
        expect(byId.get(id)?.payload).toEqual({ batch, size: ids.length, i });
      }
    }
    const countByBatch = new Map<string, number>();
    for (const event of byId.values()) countByBatch.set(event.payload.batch, (countByBatch.get(event.payload.batch) ?? 0) + 1);
    for (const { batch, size } of attempts) {
      const count = countByBatch.get(batch) ?? 0;
      if (count !== 0 && count !== size) throw new Error(`batch ${batch} is partial: ${count} of ${size} events stored`);
    }
  }
  expect(acked.size).toBeGreaterThanOrEqual(CYCLES * 50);
  await server.terminate();
}, 120_000);
