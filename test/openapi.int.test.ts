import SwaggerParser from "@apidevtools/swagger-parser";
import { describe, expect, test } from "bun:test";
import { createTestApp, tempDir } from "./utils.ts";

/** Every endpoint of the API with the statuses its documentation must describe. */
const ENDPOINTS: Record<string, number[]> = {
  "POST /topics": [201, 400, 413, 503],
  "GET /topics": [200],
  "GET /topics/{topic}": [200, 400, 404],
  "PUT /topics/{topic}": [200, 400, 404, 413, 503],
  "POST /events": [201, 400, 409, 413, 503],
  "GET /topics/{topic}/events": [200, 400, 404],
  "GET /health": [200],
  "POST /consumers/register": [201, 400, 413, 503],
  "GET /consumers": [200],
  "GET /consumers/{id}": [200, 404],
  "DELETE /consumers/{id}": [200, 404, 503],
  "POST /consumers/{id}/resume": [200, 404, 503],
};

interface Operation {
  summary?: string;
  description?: string;
  tags?: string[];
  parameters?: { name: string; in: string; required?: boolean; schema?: Record<string, unknown>; description?: string; examples?: Record<string, { value: unknown }> }[];
  requestBody?: { content: Record<string, { schema: { examples?: unknown[] } }> };
  responses: Record<string, { description: string; content?: Record<string, { schema: unknown; examples?: Record<string, { value: unknown }> }> }>;
}

async function fetchDocument() {
  using dir = tempDir();
  await using store = await createTestApp({ dir: dir.path });
  const response = await store.request("GET", "/swagger/json");
  expect(response.status).toBe(200);
  return (await response.json()) as { openapi: string; paths: Record<string, Record<string, Operation>> };
}

function operations(document: Awaited<ReturnType<typeof fetchDocument>>): Map<string, Operation> {
  const found = new Map<string, Operation>();
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(item)) found.set(`${method.toUpperCase()} ${path}`, operation);
  }
  return found;
}

describe("the OpenAPI document at /swagger/json", () => {
  test("passes a standard OpenAPI validator (@apidevtools/swagger-parser)", async () => {
    const document = await fetchDocument();
    expect(document.openapi).toBe("3.1.0");
    // validate() dereferences in place; give it a copy.
    await SwaggerParser.validate(structuredClone(document) as never);
    // The validator is not a rubber stamp: a response without its description is refused.
    const broken = structuredClone(document);
    delete (broken.paths["/events"]!.post!.responses["201"] as { description?: string }).description;
    await expect(SwaggerParser.validate(broken as never)).rejects.toThrow(/description/);
  });

  test("lists every endpoint with summary, description, tags and every documented status", async () => {
    const found = operations(await fetchDocument());
    expect([...found.keys()]).toEqual(expect.arrayContaining(Object.keys(ENDPOINTS)));
    for (const [endpoint, statuses] of Object.entries(ENDPOINTS)) {
      const operation = found.get(endpoint)!;
      expect(operation.summary?.length ?? 0, endpoint).toBeGreaterThan(5);
      expect(operation.description?.length ?? 0, endpoint).toBeGreaterThan(10);
      expect(operation.tags?.length ?? 0, endpoint).toBe(1);
      expect(Object.keys(operation.responses), endpoint).toEqual(expect.arrayContaining(statuses.map(String)));
    }
  });

  test("every response is JSON with a description, a schema and examples; errors are {error, code}", async () => {
    for (const [endpoint, operation] of operations(await fetchDocument())) {
      for (const [status, response] of Object.entries(operation.responses)) {
        const where = `${endpoint} → ${status}`;
        expect(response.description.length, where).toBeGreaterThan(5);
        expect(Object.keys(response.content ?? {}), where).toEqual(["application/json"]);
        const media = response.content!["application/json"]!;
        expect(media.schema, where).toBeObject();
        const examples = Object.values(media.examples ?? {});
        expect(examples.length, where).toBeGreaterThan(0);
        if (Number(status) >= 400) {
          expect(media.schema, where).toMatchObject({ properties: { error: { type: "string" }, code: { type: "string" } } });
          for (const { value } of examples) expect(value, where).toMatchObject({ error: expect.any(String), code: expect.stringMatching(/^[A-Z_]+$/) });
        }
      }
    }
  });

  test("request bodies are JSON with examples; path parameters have examples", async () => {
    for (const [endpoint, operation] of operations(await fetchDocument())) {
      if (operation.requestBody) {
        expect(Object.keys(operation.requestBody.content), endpoint).toEqual(["application/json"]);
        expect(operation.requestBody.content["application/json"]!.schema.examples?.length ?? 0, endpoint).toBeGreaterThan(0);
      }
      for (const parameter of operation.parameters ?? []) {
        if (parameter.in === "path") expect(Object.keys(parameter.examples ?? {}).length, `${endpoint} ${parameter.name}`).toBeGreaterThan(0);
      }
    }
  });

  test("the publish body is documented as an array of {topic, type, payload, expectedSequence?}", async () => {
    const publish = operations(await fetchDocument()).get("POST /events")!;
    const schema = publish.requestBody!.content["application/json"]!.schema as Record<string, unknown>;
    expect(schema.allOf).toBeUndefined();
    expect(schema).toMatchObject({
      type: "array",
      items: { type: "object", required: ["topic", "type", "payload"], properties: { topic: { type: "string" }, type: { type: "string" }, expectedSequence: { type: "number" } } },
    });
  });

  test("the publish documents its optional Idempotency-Key header", async () => {
    const publish = operations(await fetchDocument()).get("POST /events")!;
    expect(publish.parameters).toEqual([
      {
        name: "idempotency-key",
        in: "header",
        required: false,
        schema: { type: "string", minLength: 1, maxLength: 255 },
        description: expect.stringContaining("1-255 printable ASCII characters"),
      },
    ]);
  });
});

describe("the UI at /swagger", () => {
  test("references no other host: the bundle and the fonts are served from /swagger/assets", async () => {
    using dir = tempDir();
    await using store = await createTestApp({ dir: dir.path });
    const html = await (await store.request("GET", "/swagger")).text();
    expect(html).not.toMatch(/(https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}/i);
    const urls = [...html.matchAll(/(?:src=|url\()"?(\/swagger\/assets\/[^")\s]+)/g)].map((m) => m[1]!);
    expect(new Set(urls)).toEqual(
      new Set([
        "/swagger/assets/scalar.js",
        "/swagger/assets/inter-latin.woff2",
        "/swagger/assets/inter-latin-ext.woff2",
        "/swagger/assets/jetbrains-mono-latin.woff2",
        "/swagger/assets/jetbrains-mono-latin-ext.woff2",
      ]),
    );
    for (const url of new Set(urls)) {
      const response = await store.request("GET", url);
      expect(response.status, url).toBe(200);
      expect(response.headers.get("content-type"), url).toMatch(url.endsWith(".js") ? /^text\/javascript/ : /^font\/woff2/);
      expect((await response.arrayBuffer()).byteLength, url).toBeGreaterThan(10_000);
    }
    const unknown = await store.request("GET", "/swagger/assets/..%2F..%2Fpackage.json");
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: "Not found", code: "NOT_FOUND" });
  });

  test("loads the document from /swagger and /swagger/ alike: its URL is absolute", async () => {
    using dir = tempDir();
    await using store = await createTestApp({ dir: dir.path });
    for (const path of ["/swagger", "/swagger/"]) {
      const response = await store.request("GET", path);
      expect(response.status, path).toBe(200);
      const html = await response.text();
      expect(html, path).toContain('data-url="/swagger/json"');
    }
  });
});

describe("servers in the OpenAPI document", () => {
  test("lists the origin the document was requested from", async () => {
    using dir = tempDir();
    await using store = await createTestApp({ dir: dir.path });
    const local = (await (await store.request("GET", "/swagger/json")).json()) as { servers: unknown };
    expect(local.servers).toEqual([{ url: "http://localhost" }]);
    const other = await store.app.handle(new Request("http://events.internal:8123/swagger/json"));
    expect(((await other.json()) as { servers: unknown }).servers).toEqual([{ url: "http://events.internal:8123" }]);
  });
});
