/**
 * CORS in a real browser: a page served from one loopback origin uses the
 * client's browser build (client/dist/index.browser.js, made by
 * `bun run build`) to publish to and read from a server on another. With
 * CORS_ORIGINS naming the page's origin it works; unset, Chromium blocks the
 * calls and the server stores nothing. Run by `.ci/run` after the build:
 *
 *   bun test ./test/e2e/cors-browser.e2e.ts
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium } from "playwright-core";
import { startServerProcess } from "../server-process.ts";
import { tempDir } from "../utils.ts";

/** Debian's `chromium` package; `.ci/run` installs it when missing. */
const CHROMIUM = "/usr/bin/chromium";
const BROWSER_BUILD = join(import.meta.dir, "..", "..", "client", "dist", "index.browser.js");
const TIMEOUT_MS = 60_000;

const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>CORS app</title>
<link rel="icon" href="data:,">
<script type="module">
  import { EventStoreClient, EventStoreError } from "/event-store-client.js";
  // Called by the test: everything a browser app does, reported as plain data.
  window.useStore = async (baseUrl, topic) => {
    const client = new EventStoreClient({ baseUrl, retries: 0, timeout: 5000 });
    try {
      await client.createTopic(topic, [{ eventType: "clicked", type: "object", properties: { x: { type: "integer" } }, required: ["x"] }]);
      const ids = await client.publishEvents([{ topic, type: "clicked", payload: { x: 1 } }], { idempotencyKey: "page-1" });
      const replay = await fetch(baseUrl + "/events", {
        method: "POST",
        headers: { "content-type": "application/json", "idempotency-key": "page-1" },
        body: JSON.stringify([{ topic, type: "clicked", payload: { x: 1 } }]),
      });
      const events = await client.getEvents(topic);
      return { ids, replayed: replay.headers.get("idempotent-replayed"), payloads: events.map((e) => e.payload) };
    } catch (error) {
      return { error: error instanceof EventStoreError ? [error.status, error.code] : String(error) };
    }
  };
  window.ready = true;
</script>`;

/** Serves the page and the client's browser build from its own origin. */
function pageServer() {
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch(request) {
      const { pathname } = new URL(request.url);
      if (pathname === "/") return new Response(PAGE, { headers: { "content-type": "text/html; charset=utf-8" } });
      if (pathname === "/event-store-client.js") return new Response(Bun.file(BROWSER_BUILD), { headers: { "content-type": "text/javascript" } });
      return new Response("not found", { status: 404 });
    },
  });
  return { origin: `http://127.0.0.1:${server.port}`, [Symbol.dispose]: () => server.stop(true) };
}

let browser: Browser;

beforeAll(async () => {
  if (!existsSync(BROWSER_BUILD)) throw new Error(`${BROWSER_BUILD} is missing: run \`bun run build\` first`);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
}, TIMEOUT_MS);

afterAll(async () => {
  await browser?.close();
});

/** Opens the page in a fresh context and runs `useStore` against `apiUrl`; also returns the console's errors. */
async function usePage(pageOrigin: string, apiUrl: string, topic: string) {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const consoleErrors: string[] = [];
    page.on("console", (message) => {
      if (message.type() === "error") consoleErrors.push(message.text());
    });
    await page.goto(`${pageOrigin}/`);
    await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true, undefined, { timeout: 10_000 });
    const result = await page.evaluate(
      ([url, name]) => (window as unknown as { useStore(url: string, topic: string): Promise<unknown> }).useStore(url!, name!),
      [apiUrl, topic],
    );
    return { result, consoleErrors };
  } finally {
    await context.close();
  }
}

describe("a browser app on another origin", () => {
  test("with CORS_ORIGINS naming its origin: publishes and reads, and sees Idempotent-Replayed", async () => {
    using page = pageServer();
    using dir = tempDir();
    const server = await startServerProcess({ DATA_DIR: join(dir.path, "data"), CONFIG_DIR: join(dir.path, "config"), CORS_ORIGINS: page.origin });
    try {
      expect(new URL(server.url).origin).not.toBe(page.origin);
      const { result, consoleErrors } = await usePage(page.origin, server.url, "clicks");
      expect(result).toEqual({ ids: ["clicks-1"], replayed: "true", payloads: [{ x: 1 }] });
      expect(consoleErrors).toEqual([]);
    } finally {
      await server.terminate();
    }
  }, TIMEOUT_MS);

  test("with CORS_ORIGINS unset: the browser blocks every call and the server stores nothing", async () => {
    using page = pageServer();
    using dir = tempDir();
    const server = await startServerProcess({ DATA_DIR: join(dir.path, "data"), CONFIG_DIR: join(dir.path, "config") });
    try {
      const { result, consoleErrors } = await usePage(page.origin, server.url, "clicks");
      // Chromium hides why from the page: fetch rejects, so the client reports a network error.
      expect(result).toEqual({ error: [0, "NETWORK_ERROR"] });
      expect(consoleErrors.some((text) => text.includes("blocked by CORS policy"))).toBe(true);
      // The preflight was refused, so the request itself never reached the store.
      expect(await (await fetch(`${server.url}/topics`)).json()).toEqual({ topics: [] });
    } finally {
      await server.terminate();
    }
  }, TIMEOUT_MS);
});
