import { join } from "node:path";
import { expect, test } from "bun:test";
import { eventually, TOPIC_SCHEMAS } from "./consumer-harness.ts";
import { type ServerProcess, startServerProcess } from "./server-process.ts";
import { tempDir } from "./utils.ts";
import { type Delivery, ids, ok, startReceiver } from "./webhook-receiver.ts";

async function call(url: string, method: string, path: string, body?: unknown): Promise<any> {
  const response = await fetch(`${url}${path}`, { method, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await response.text();
  if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return JSON.parse(text);
}

const publish = async (url: string, count: number): Promise<string[]> =>
  (await call(url, "POST", "/events", Array.from({ length: count }, (_, n) => ({ topic: "t", type: "e", payload: { n } })))).eventIds;

const sequence = (id: string) => Number(id.slice(id.lastIndexOf("-") + 1));

test("kill -9 keeps consumers and cursors; only the batch in flight is sent again", async () => {
  using dir = tempDir();
  const env = { DATA_DIR: join(dir.path, "data"), CONFIG_DIR: join(dir.path, "config") };
  const release = Promise.withResolvers<void>();
  const checked = Promise.withResolvers<void>();
  let crashed = false;
  await using receiver = startReceiver(async (d) => {
    if (!crashed && d.eventIds.includes("t-11")) await release.promise; // in flight when the server dies
    if (crashed) await checked.promise; // after the restart: held until the cursors are inspected
    return ok(d);
  });
  let server: ServerProcess | undefined;
  try {
    server = await startServerProcess(env);
    await call(server.url, "POST", "/topics", { name: "t", schemas: TOPIC_SCHEMAS });
    const a = await call(server.url, "POST", "/consumers/register", { callback: receiver.url, topics: { t: null } });
    await publish(server.url, 10);
    await receiver.untilAccepted(ids("t", 1, 10));
    await publish(server.url, 5);
    // The next batch starts only once the previous cursor is durable, so this proves t-10 is on disk.
    await receiver.until((r) => r.deliveries.some((d) => d.eventIds.includes("t-11")), "the batch from t-11 in flight");
    const inFlight = receiver.deliveries.at(-1)!;
    // Acknowledged with 201 just before the kill: must survive too.
    const b = await call(server.url, "POST", "/consumers/register", { callback: `${receiver.url}?b`, topics: { t: "t-15" } });
    await server.kill9();
    crashed = true;

    server = await startServerProcess(env);
    const listed = (await call(server.url, "GET", "/consumers")).consumers as { id: string; callback: string; topics: unknown }[];
    expect(listed.map(({ id, callback, topics }) => ({ id, callback, topics }))).toEqual([
      { id: a.consumerId, callback: receiver.url, topics: { t: "t-10" } },
      { id: b.consumerId, callback: `${receiver.url}?b`, topics: { t: "t-15" } },
    ]);
    checked.resolve();
    await receiver.untilAccepted(ids("t", 11, 15));
    const resent = receiver.deliveries.find((d) => d.n > inFlight.n)!;
    expect(resent.eventIds).toEqual(inFlight.eventIds);
    expect(resent.eventIds[0]).toBe("t-11");
    expect(resent.headers.get("webhook-id")).toBe(inFlight.headers.get("webhook-id")!);
    await publish(server.url, 5);
    await receiver.until((r) => r.acceptedIds().length === 25, "t-16…t-20 at both consumers");
    // Nothing lost, nothing acknowledged twice; b gets only what followed its registered id.
    const acceptedBy = (consumerId: string) => receiver.deliveries.filter((d) => d.consumerId === consumerId && d.status === 204).flatMap((d) => d.eventIds);
    expect(acceptedBy(a.consumerId)).toEqual(ids("t", 1, 20));
    expect(acceptedBy(b.consumerId)).toEqual(ids("t", 16, 20));
    expect(await server.terminate()).toBe(0);
  } finally {
    release.resolve();
    checked.resolve();
    if (server && server.process.exitCode === null) await server.kill9();
  }
}, 30_000);

test("repeated kill -9 while publishing and delivering: every event arrives, no delivery skips ahead", async () => {
  using dir = tempDir();
  const env = { DATA_DIR: join(dir.path, "data"), CONFIG_DIR: join(dir.path, "config"), DELIVERY_BATCH_SIZE: "7" };
  await using receiver = startReceiver();
  let server = await startServerProcess(env);
  try {
    await call(server.url, "POST", "/topics", { name: "t", schemas: TOPIC_SCHEMAS });
    const { consumerId } = await call(server.url, "POST", "/consumers/register", { callback: receiver.url, topics: { t: null } });
    let published = 0;
    for (let cycle = 0; cycle < 4; cycle++) {
      for (let i = 0; i < 5; i++) published += (await publish(server.url, 1 + Math.floor(Math.random() * 9))).length;
      await receiver.until((r) => r.deliveries.length > cycle * 3, "deliveries under way");
      await server.kill9();
      server = await startServerProcess(env);
    }
    await receiver.untilAccepted(ids("t", 1, published), 15_000);

    let highest = 0;
    for (const delivery of receiver.deliveries.filter((d: Delivery) => d.status >= 200 && d.status < 300)) {
      expect(delivery.consumerId).toBe(consumerId);
      const seqs = delivery.eventIds.map(sequence);
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => seqs[0]! + i));
      expect(seqs[0]!).toBeLessThanOrEqual(highest + 1);
      highest = Math.max(highest, seqs.at(-1)!);
    }
    expect(highest).toBe(published);
    const url = server.url;
    const cursor = await eventually(async () => {
      const { topics } = (await call(url, "GET", "/consumers")).consumers[0];
      return topics.t === `t-${published}` ? topics.t : undefined;
    }, "the last cursor");
    expect(cursor).toBe(`t-${published}`);
  } finally {
    if (server.process.exitCode === null) await server.kill9();
  }
}, 45_000);
