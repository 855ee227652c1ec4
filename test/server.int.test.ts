import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { defaultConfig } from "../src/config.ts";
import { startServer } from "../src/server.ts";
import { rejection, tempDir } from "./utils.ts";

function configIn(dir: string, port = 0) {
  return { ...defaultConfig(), host: "127.0.0.1", port, dataDir: join(dir, "data"), configDir: join(dir, "config") };
}

describe("startServer", () => {
  test("a port held by another store is refused, not shared", async () => {
    using first = tempDir();
    using second = tempDir();
    const running = await startServer(configIn(first.path), { report: () => {} });
    try {
      const error = await rejection(startServer(configIn(second.path, running.port), { report: () => {} }));
      expect((error as NodeJS.ErrnoException).code).toBe("EADDRINUSE");
      expect((await fetch(`${running.url}/health`)).status).toBe(200);
    } finally {
      await running.stop();
    }
  });

  test("stopping leaves no process listener behind, so stopped stores can be collected", async () => {
    const before = process.listeners("beforeExit").length;
    for (let i = 0; i < 3; i++) {
      using dir = tempDir();
      const running = await startServer(configIn(dir.path), { report: () => {} });
      expect((await fetch(`${running.url}/topics`)).status).toBe(200);
      await running.stop();
    }
    expect(process.listeners("beforeExit").length).toBe(before);
  });

  test("through the native router, encoded topic names decode to the same topic and hostile ones get a 4xx JSON error", async () => {
    using dir = tempDir();
    const running = await startServer(configIn(dir.path), { report: () => {} });
    try {
      const created = await fetch(`${running.url}/topics`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ name: "a-b", schemas: [{ eventType: "e", type: "object" }] }),
      });
      expect(created.status).toBe(201);
      const encoded = await fetch(`${running.url}/topics/a%2Db/events`);
      expect(encoded.status).toBe(200);
      expect(await encoded.json()).toEqual({ events: [] });
      for (const hostile of ["%2e%2e", "..%2F..%2Fetc", "%00", "a%2Fb"]) {
        const res = await fetch(`${running.url}/topics/${hostile}/events`);
        expect([400, 404], hostile).toContain(res.status);
        expect(typeof (await res.json()).code, hostile).toBe("string");
      }
    } finally {
      await running.stop();
    }
  });
});
