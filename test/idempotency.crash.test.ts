import { expect, test } from "bun:test";
import { join } from "node:path";
import { startServerProcess } from "./server-process.ts";
import { tempDir } from "./utils.ts";

const CYCLES = 10;
const WRITERS = 8;

function publish(url: string, key: string, mark: string) {
  const body = JSON.stringify([
    { topic: "t", type: "e", payload: { mark, i: 0 } },
    { topic: "t", type: "e", payload: { mark, i: 1 } },
  ]);
  return fetch(`${url}/events`, { method: "POST", body, headers: { "content-type": "application/json", "idempotency-key": key } });
}

test(`kill -9 around keyed publishes, ${CYCLES} times: a retry with the same key leaves exactly one copy`, async () => {
  using dir = tempDir();
  const env = { DATA_DIR: join(dir.path, "data"), CONFIG_DIR: join(dir.path, "config") };
  let server = await startServerProcess(env);
  await fetch(`${server.url}/topics`, { method: "POST", body: JSON.stringify({ name: "t", schemas: [{ eventType: "e", type: "object" }] }) });
  const marks: string[] = [];
  let landedBeforeKill = 0;
  let storedBeforeRetry = 0;
  let retried = 0;

  for (let cycle = 0; cycle < CYCLES; cycle++) {
    const inFlight = Array.from({ length: WRITERS }, (_, writer) => {
      const mark = `${cycle}.${writer}`;
      marks.push(mark);
      return publish(server.url, `key-${mark}`, mark).then(
        (res) => res.status,
        () => 0,
      );
    });
    // Kill while the batches are being written, acknowledged or still in the socket.
    await Bun.sleep(Math.random() * 12);
    await server.kill9();
    landedBeforeKill += (await Promise.all(inFlight)).filter((status) => status === 201).length;
    server = await startServerProcess(env);
    const { events: before } = (await (await fetch(`${server.url}/topics/t/events`)).json()) as { events: unknown[] };
    storedBeforeRetry += before.length / 2 - retried;
    retried += WRITERS;
    for (let writer = 0; writer < WRITERS; writer++) {
      const res = await publish(server.url, `key-${cycle}.${writer}`, `${cycle}.${writer}`);
      expect(res.status).toBe(201);
    }
  }

  const { events } = (await (await fetch(`${server.url}/topics/t/events`)).json()) as { events: { id: string; payload: { mark: string; i: number } }[] };
  const copies = new Map<string, number>();
  for (const event of events) copies.set(event.payload.mark, (copies.get(event.payload.mark) ?? 0) + 1);
  for (const mark of marks) expect([mark, copies.get(mark)]).toEqual([mark, 2]);
  expect(events.length).toBe(marks.length * 2);
  expect(events.map((e) => e.id)).toEqual(events.map((_, i) => `t-${i + 1}`));
  console.log(`idempotency crash: ${CYCLES} kills, ${marks.length} keyed batches, ${landedBeforeKill} acknowledged and ${storedBeforeRetry} stored before a kill`);
  await server.terminate();
}, 120_000);
