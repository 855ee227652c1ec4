import { expect, test } from "bun:test";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { startServerProcess } from "../server-process.ts";
import { tempDir } from "../utils.ts";
import { compiledBinary } from "./binary.ts";

const BINARY = compiledBinary();
/** Debian's `chromium` package; `.ci/run` installs it when missing. */
const CHROMIUM = "/usr/bin/chromium";
const SCREENSHOT = join(import.meta.dir, "..", "..", "docs", "swagger-screenshot.png");

test("the Swagger UI served by the compiled binary renders every endpoint with every other host blocked", async () => {
  using dir = tempDir();
  const server = await startServerProcess({ DATA_DIR: join(dir.path, "data"), CONFIG_DIR: join(dir.path, "config") }, [BINARY]);
  const origin = new URL(server.url);
  const context = await chromium.launchPersistentContext(join(dir.path, "chromium-profile"), {
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    viewport: { width: 1440, height: 900 },
  });
  try {
    // The offline promise: anything not from the store itself is refused, and recorded.
    const blocked: string[] = [];
    const served: string[] = [];
    await context.route("**/*", (route) => {
      const url = new URL(route.request().url());
      if (url.host !== origin.host) {
        blocked.push(url.href);
        return route.abort("blockedbyclient");
      }
      served.push(url.pathname);
      return route.continue();
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const pageErrors: string[] = [];
    page.on("pageerror", (error) => pageErrors.push(error.message));

    const openapi = (await (await fetch(`${server.url}/swagger/json`)).json()) as { paths: Record<string, Record<string, { summary: string }>> };
    const summaries = Object.values(openapi.paths).flatMap((item) => Object.values(item).map((operation) => operation.summary));
    expect(summaries).toContain("Publish events");
    expect(summaries.length).toBeGreaterThanOrEqual(12);

    await page.goto(`${server.url}/swagger`, { waitUntil: "load" });
    // The sidebar lists every operation by its summary once Scalar has rendered the document.
    for (const summary of summaries) await page.getByText(summary, { exact: true }).first().waitFor({ state: "visible", timeout: 30_000 });
    await page.getByText("/topics/{topic}", { exact: true }).first().waitFor({ state: "visible" });
    await page.evaluate(() => document.fonts.ready);
    expect(blocked).toEqual([]);
    // The embedded fonts, not the system's fallback.
    expect(await page.evaluate(() => document.fonts.check('16px "Inter"'))).toBe(true);
    await page.screenshot({ path: SCREENSHOT });

    // Deeper sections render on demand: open the read endpoint and find its path.
    await page.getByText("Read a topic's events", { exact: true }).first().click();
    await page.getByText("/topics/{topic}/events").first().waitFor({ state: "visible", timeout: 30_000 });

    expect(blocked).toEqual([]);
    expect(pageErrors).toEqual([]);
    expect(served).toEqual(expect.arrayContaining(["/swagger", "/swagger/assets/scalar.js", "/swagger/json", "/swagger/assets/inter-latin.woff2"]));
  } finally {
    await context.close();
    await server.terminate();
  }
}, 120_000);
