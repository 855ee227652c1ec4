/**
 * Every file the file backend writes goes through its LogStorage, so the
 * disk faults the log tests inject reach topic files, consumers.json and the
 * cursor journal too: a failed write answers 503 and changes nothing.
 */
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { defaultConfig } from "../src/config.ts";
import { openEventStore } from "../src/event-store.ts";
import { FaultyStorage } from "./faulty-storage.ts";
import { SIMPLE_SCHEMA, createTestApp, tempDir } from "./utils.ts";

describe("faults in topic and consumer writes", () => {
  test.each(["fsync-EIO", "ENOSPC", "short-write", "dirsync-EIO"] as const)("%s while storing a topic: 503 WRITE_FAILED, no topic; the next try works", async (fault) => {
    using dir = tempDir();
    const storage = new FaultyStorage();
    await using store = await createTestApp({ dir: dir.path, storage });
    storage.failNext(fault);
    const failed = await store.request("POST", "/topics", { name: "t", schemas: [SIMPLE_SCHEMA] });
    expect(failed.status).toBe(503);
    expect((await failed.json()).code).toBe("WRITE_FAILED");
    // A failed directory fsync comes after the rename: the file may be there, the topic is not taken.
    expect(await (await store.request("GET", "/topics")).json()).toEqual({ topics: [] });
    expect((await store.request("POST", "/topics", { name: "t", schemas: [SIMPLE_SCHEMA] })).status).toBe(201);
    const reopened = await store.reopen();
    expect(await (await reopened.request("GET", "/topics")).json()).toEqual({ topics: ["t"] });
    await reopened[Symbol.asyncDispose]();
  });

  test("a failed consumers.json write: 503 CONSUMERS_WRITE_FAILED, nothing registered; the next registration is stored", async () => {
    using dir = tempDir();
    const storage = new FaultyStorage();
    const config = { ...defaultConfig(), dataDir: join(dir.path, "data"), configDir: join(dir.path, "config") };
    const open = () =>
      openEventStore(config, {
        storage,
        report: () => {},
        fetch: (_, init) => new Promise<Response>((_resolve, reject) => init.signal?.addEventListener("abort", () => reject(init.signal?.reason))),
        app: { reportError: () => {} },
      });
    let store = await open();
    const request = async (method: string, path: string, body?: unknown) => {
      const response = await store.app.handle(new Request(`http://localhost${path}`, { method, ...(body === undefined ? {} : { body: JSON.stringify(body) }) }));
      return { status: response.status, body: await response.json() };
    };
    expect((await request("POST", "/topics", { name: "t", schemas: [SIMPLE_SCHEMA] })).status).toBe(201);
    storage.failNext("fsync-EIO");
    const failed = await request("POST", "/consumers/register", { callback: "https://receiver.example/hook", topics: { t: null } });
    expect(failed).toEqual({ status: 503, body: { error: "Failed to store the consumer registrations", code: "CONSUMERS_WRITE_FAILED" } });
    expect((await request("GET", "/consumers")).body).toEqual({ consumers: [] });
    expect(existsSync(join(config.dataDir, "consumers.json"))).toBe(false);
    const stored = await request("POST", "/consumers/register", { callback: "https://receiver.example/hook", topics: { t: null } });
    expect(stored.status).toBe(201);
    await store.close();
    store = await open();
    expect((await request("GET", "/consumers")).body.consumers.map((c: { id: string }) => c.id)).toEqual([stored.body.consumerId]);
    await store.close();
    expect(storage.openHandles.size).toBe(0);
  });
});
