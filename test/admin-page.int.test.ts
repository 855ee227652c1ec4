import { describe, expect, test } from "bun:test";
import { createTestApp, tempDir } from "./utils.ts";

describe("GET /admin", () => {
  test("the page and its two assets load without a token under AUTH_TOKEN; the API and other paths under /admin do not", async () => {
    using dir = tempDir();
    await using t = await createTestApp({ dir: dir.path, overrides: { authTokens: ["s3cret"] } });
    const page = await t.request("GET", "/admin");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(page.headers.get("content-security-policy")).toContain("default-src 'self'");
    const html = await page.text();
    expect(html).toContain('<script type="module" src="/admin/assets/admin.js"></script>');
    // Nothing from elsewhere: no absolute URL in the page.
    expect(html).not.toMatch(/(https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}/i);
    const script = await t.request("GET", "/admin/assets/admin.js");
    expect([script.status, script.headers.get("content-type")]).toEqual([200, "text/javascript; charset=utf-8"]);
    expect(await script.text()).toContain('sessionStorage.getItem(TOKEN_KEY)');
    expect((await t.request("GET", "/admin/assets/admin.css")).headers.get("content-type")).toBe("text/css; charset=utf-8");
    expect((await t.request("GET", "/admin/assets/secrets.json")).status).toBe(401);
    expect((await t.request("POST", "/admin")).status).toBe(401);
    expect((await t.request("GET", "/topics")).status).toBe(401);
    expect((await t.request("GET", "/topics", undefined, { authorization: "Bearer s3cret" })).status).toBe(200);
  });

  test("an unknown asset is 404 once authenticated (or without AUTH_TOKEN)", async () => {
    using dir = tempDir();
    await using t = await createTestApp({ dir: dir.path });
    expect((await t.request("GET", "/admin/assets/nope.js")).status).toBe(404);
    expect((await t.request("GET", "/admin/")).status).toBe(200);
  });
});
