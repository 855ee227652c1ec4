import { expect, test } from "bun:test";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { startServerProcess } from "../server-process.ts";
import { tempDir } from "../utils.ts";
import { startReceiver } from "../webhook-receiver.ts";
import { compiledBinary } from "./binary.ts";

const BINARY = compiledBinary();
/** Debian's `chromium` package; `.ci/run` installs it when missing. */
const CHROMIUM = "/usr/bin/chromium";
const DOCS = join(import.meta.dir, "..", "..", "docs");
const TOKEN = "admin-s3cret";
const SCHEMAS = [{ eventType: "order.placed", type: "object", properties: { n: { type: "integer" }, item: { type: "string" } }, required: ["n"] }];

test("the admin page of the compiled binary: sign in, browse a topic, tail it, see a failing consumer's error and lag, resume it and see it drain", async () => {
  using dir = tempDir();
  let healthy = false;
  await using receiver = startReceiver(() => new Response(null, { status: healthy ? 204 : 500 }));
  const server = await startServerProcess(
    {
      DATA_DIR: join(dir.path, "data"),
      CONFIG_DIR: join(dir.path, "config"),
      AUTH_TOKEN: TOKEN,
      ON_CONSUMER_FAILURE: "pause",
      CONSUMER_MAX_ATTEMPTS: "1",
      CONSUMER_RETRY_BASE_MS: "10",
      CONSUMER_RETRY_MAX_MS: "40",
    },
    [BINARY],
  );
  const api = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as any };
  };
  expect((await api("POST", "/topics", { name: "orders", schemas: SCHEMAS })).status).toBe(201);
  expect((await api("POST", "/topics", { name: "audit", schemas: [{ eventType: "audit.logged", type: "object" }] })).status).toBe(201);
  const items = ["book", "lamp", "chair", "pen"];
  const published = await api("POST", "/events", Array.from({ length: 60 }, (_, n) => ({ topic: "orders", type: "order.placed", payload: { n, item: items[n % 4] } })));
  expect(published.status).toBe(201);
  const { consumerId } = (await api("POST", "/consumers/register", { callback: `${receiver.url}/orders`, topics: { orders: null } })).body;
  await receiver.until((r) => r.deliveries.length >= 1, "the first (failing) delivery");

  const origin = new URL(server.url);
  const context = await chromium.launchPersistentContext(join(dir.path, "chromium-profile"), {
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    viewport: { width: 1280, height: 800 },
  });
  try {
    // Offline: anything not from the store itself is refused, and recorded.
    const blocked: string[] = [];
    await context.route("**/*", (route) => {
      const url = new URL(route.request().url());
      if (url.host !== origin.host) {
        blocked.push(url.href);
        return route.abort("blockedbyclient");
      }
      return route.continue();
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const pageErrors: string[] = [];
    page.on("pageerror", (error) => pageErrors.push(error.message));

    // Sign in: the page itself loads without a token, then asks for one.
    await page.goto(`${server.url}/admin`, { waitUntil: "load" });
    await page.getByLabel("Bearer token").waitFor({ state: "visible" });
    await page.getByLabel("Bearer token").fill(TOKEN);
    await page.keyboard.press("Enter");
    const topicsTable = page.getByRole("table", { name: "Topics" });
    await topicsTable.waitFor({ state: "visible" });
    expect(await page.evaluate(() => sessionStorage.getItem("event-store-token"))).toBe(TOKEN);
    expect(page.url()).not.toContain(TOKEN);
    const ordersRow = topicsTable.getByRole("row").filter({ hasText: "orders" });
    expect(await ordersRow.locator("td").nth(1).textContent()).toBe("60");
    expect(await topicsTable.getByRole("row").count()).toBe(3);
    await ordersRow.locator("summary").click();
    await ordersRow.locator("pre").waitFor({ state: "visible" });
    expect(JSON.parse((await ordersRow.locator("pre").textContent())!)).toEqual(SCHEMAS);
    await page.screenshot({ path: join(DOCS, "admin-topics.png") });

    // The event browser: pages by sinceEventId, a date filter, the JSON of an event.
    await page.getByRole("link", { name: "orders" }).click();
    const events = page.getByRole("table", { name: "Events of orders" });
    await events.waitFor({ state: "visible" });
    expect(await events.locator("tbody tr").count()).toBe(50);
    await page.getByRole("button", { name: "Next page" }).click();
    await page.locator('tr[data-id="orders-51"]').waitFor({ state: "visible" });
    expect(await events.locator("tbody tr").count()).toBe(10);
    expect(page.url()).toContain("since=orders-50");
    await page.getByRole("button", { name: "Previous page" }).click();
    await page.locator('tr[data-id="orders-1"]').waitFor({ state: "visible" });
    expect(await events.locator("tbody tr").count()).toBe(50);
    await page.getByRole("button", { name: "Next page" }).click();
    await page.locator('tr[data-id="orders-51"]').waitFor({ state: "visible" });
    await page.getByRole("button", { name: "First page" }).click();
    await page.locator('tr[data-id="orders-1"]').waitFor({ state: "visible" });
    await page.getByLabel("Date (UTC)").fill("2000-01-01");
    await page.getByRole("button", { name: "Show" }).click();
    await page.getByText("No events here.").waitFor({ state: "visible" });
    await page.getByLabel("Date (UTC)").fill(new Date().toISOString().slice(0, 10));
    await page.getByLabel("Page size").selectOption("25");
    await page.getByRole("button", { name: "Show" }).click();
    await page.locator('tr[data-id="orders-25"]').waitFor({ state: "visible" });
    expect(await events.locator("tbody tr").count()).toBe(25);
    const third = page.locator('tr[data-id="orders-3"]');
    await third.locator("summary").click();
    expect(JSON.parse((await third.locator("pre").textContent())!)).toMatchObject({ id: "orders-3", type: "order.placed", payload: { n: 2, item: "chair" } });
    await page.screenshot({ path: join(DOCS, "admin-events.png") });

    // Live tail: a published event appears without a reload.
    await page.getByRole("button", { name: "Live tail" }).click();
    await page.getByText("Waiting for new events…").waitFor({ state: "visible" });
    expect((await api("POST", "/events", [{ topic: "orders", type: "order.placed", payload: { n: 60, item: "tail" } }])).status).toBe(201);
    await page.locator('tr[data-id="orders-61"]').waitFor({ state: "visible", timeout: 10_000 });
    await page.getByText("Live: last orders-61").waitFor({ state: "visible" });
    await page.getByRole("button", { name: "Stop tail" }).click();

    // Consumers: the failing one shows its error and its lag.
    await page.getByRole("link", { name: "Consumers" }).click();
    const row = page.locator(`tr[data-consumer="${consumerId}"]`);
    await row.waitFor({ state: "visible" });
    await row.getByText("paused", { exact: true }).waitFor({ state: "visible" });
    expect(await row.textContent()).toContain("HTTP 500");
    await row.getByText("orders: 61 behind").waitFor({ state: "visible" });
    expect(await row.textContent()).toContain("cursor 0/61");
    await page.screenshot({ path: join(DOCS, "admin-consumers.png") });

    // Resume by keyboard; it drains.
    healthy = true;
    await row.getByRole("button", { name: `Resume consumer ${consumerId}` }).focus();
    await page.keyboard.press("Enter");
    await row.getByText("active", { exact: true }).waitFor({ state: "visible", timeout: 15_000 });
    await row.getByText("orders: 0 behind").waitFor({ state: "visible", timeout: 15_000 });
    expect(await row.textContent()).toContain("cursor 61/61");
    expect((await api("GET", `/consumers/${consumerId}`)).body.progress.orders).toEqual({ head: 61, cursor: 61, lag: 0, oldestPendingAt: null, lagSeconds: 0 });

    // Delete asks first; Cancel keeps the consumer, Delete removes it.
    await row.getByRole("button", { name: `Delete consumer ${consumerId}` }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Cancel" }).click();
    expect((await api("GET", `/consumers/${consumerId}`)).status).toBe(200);
    await row.getByRole("button", { name: `Delete consumer ${consumerId}` }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Delete" }).click();
    await page.getByText("No consumers registered.").waitFor({ state: "visible" });
    expect((await api("GET", `/consumers/${consumerId}`)).status).toBe(404);

    // Health and the key metrics.
    await page.getByRole("link", { name: "Health & metrics" }).click();
    const metrics = page.getByLabel("Key metrics");
    await metrics.waitFor({ state: "visible" });
    await metrics.getByText("Events appended").waitFor({ state: "visible" });
    expect(await metrics.locator(".metric").filter({ hasText: "Events appended" }).locator(".value").textContent()).toBe("61");
    await page.getByText("Status: healthy").waitFor({ state: "visible" });
    await page.screenshot({ path: join(DOCS, "admin-health.png") });

    // A narrow window: nothing wider than the screen but the tables' own scroll boxes.
    await page.setViewportSize({ width: 390, height: 800 });
    await page.getByRole("link", { name: "Topics" }).click();
    await topicsTable.waitFor({ state: "visible" });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await page.screenshot({ path: join(DOCS, "admin-narrow.png") });

    expect(blocked).toEqual([]);
    expect(pageErrors).toEqual([]);
  } finally {
    await context.close();
    await server.terminate();
  }
}, 180_000);
