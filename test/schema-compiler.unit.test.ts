import { describe, expect, test } from "bun:test";
import { runThisThreadInBackground } from "../src/os/thread-priority.ts";
import { DEFAULT_MAX_LOCAL_VALIDATOR_BYTES, type LocalValidator, type PayloadValidator, SchemaCompiler } from "../src/topics/schema-compiler.ts";
import { processThreads, turnsDuring } from "./utils.ts";

/** An event schema of `count` string properties of at most 4 characters. */
function wideSchema(count: number) {
  const properties: Record<string, unknown> = {};
  for (let i = 0; i < count; i++) properties[`p${i}`] = { type: "string", maxLength: 4 };
  return { eventType: "e", type: "object", properties };
}

/** The answers of a validator, kept here or on the worker, for these payloads. */
async function check(validate: PayloadValidator, payloads: unknown[]): Promise<(string | null)[]> {
  return typeof validate === "function" ? payloads.map(validate) : validate.checkAll(payloads.map((payload) => JSON.stringify(payload)));
}

const PAYLOADS = [{ p1: "ok" }, { p1: "too long" }, { p1: 7, p2: "fine" }];
const ANSWERS = [null, "payload/p1 must NOT have more than 4 characters", "payload/p1 must be string"];

describe("SchemaCompiler", () => {
  test("generating runs on the schema worker: this thread keeps turning while a 1 000-property schema compiles", async () => {
    const compiler = new SchemaCompiler();
    try {
      const turns = await turnsDuring(() => compiler.compile(wideSchema(1000), 0));
      // Compiled on this thread, the loop could not turn at all until it was done (ajv takes over 100 ms for this schema).
      expect(turns).toBeGreaterThan(20);
    } finally {
      compiler.close();
    }
  });

  test("the worker runs at the lowest CPU priority on Linux, so on a busy machine it waits for the request thread; elsewhere the call says it did nothing", async () => {
    if (process.platform !== "linux") {
      expect(runThisThreadInBackground()).toBe(false);
      return;
    }
    const compiler = new SchemaCompiler();
    try {
      await compiler.compile(wideSchema(10), 0);
      const threads = processThreads(process.pid);
      const workers = threads.filter((thread) => thread.name === "Worker");
      expect(workers.length).toBeGreaterThan(0);
      expect(new Set(workers.map((thread) => thread.nice))).toEqual(new Set([19]));
      expect(threads.find((thread) => thread.id === process.pid)?.nice).toBe(0);
    } finally {
      compiler.close();
    }
  });

  test("a small validator runs here; one whose source is over the limit is kept on the worker; both answer as ajv does", async () => {
    const compiler = new SchemaCompiler();
    try {
      const small = await compiler.compile(wideSchema(10), 0);
      const large = await compiler.compile(wideSchema(1000), 1);
      expect(DEFAULT_MAX_LOCAL_VALIDATOR_BYTES).toBe(64 * 1024);
      expect([typeof small.validate, typeof large.validate]).toEqual(["function", "object"]);
      expect(await check(small.validate, PAYLOADS)).toEqual(ANSWERS);
      expect(await check(large.validate, PAYLOADS)).toEqual(ANSWERS);
    } finally {
      compiler.close();
    }
  });

  test("formats, patterns and $defs work in generated validators, here and on the worker", async () => {
    const compiler = new SchemaCompiler({ maxLocalValidatorBytes: 0 });
    const schema = {
      eventType: "e",
      type: "object",
      $defs: { code: { type: "string", pattern: "^[A-Z]{3}$" } },
      properties: { email: { type: "string", format: "email" }, code: { $ref: "#/$defs/code" }, tags: { type: "array", uniqueItems: true } },
    };
    try {
      const { validate } = await compiler.compile(schema, 0);
      expect(typeof validate).toBe("object");
      expect(await check(validate, [{ email: "a@b.io", code: "ABC", tags: [1, 2] }, { email: "nope" }, { code: "abc" }, { tags: [1, 1] }])).toEqual([
        null,
        'payload/email must match format "email"',
        'payload/code must match pattern "^[A-Z]{3}$"',
        "payload/tags must NOT have duplicate items (items ## 0 and 1 are identical)",
      ]);
    } finally {
      compiler.close();
    }
  });

  test("a validator kept on the worker still answers after the compiler is closed (generated here, once)", async () => {
    const compiler = new SchemaCompiler();
    const { validate } = await compiler.compile(wideSchema(1000), 0);
    compiler.close();
    expect(await check(validate, PAYLOADS)).toEqual(ANSWERS);
  });

  test("in process, the same validators and answers", async () => {
    const compiler = new SchemaCompiler({ inProcess: true });
    const { validate } = await compiler.compile(wideSchema(1000), 0);
    expect(typeof validate).toBe("function");
    expect((validate as LocalValidator)(PAYLOADS[1])).toBe(ANSWERS[1]!);
  });

  test("a schema too large for ajv to generate is refused as too large, not as a server fault", async () => {
    const compiler = new SchemaCompiler();
    try {
      await expect(compiler.compile(wideSchema(8000), 2)).rejects.toMatchObject({
        code: "INVALID_SCHEMA",
        status: 400,
        message: "schemas[2] (e) is not a valid JSON Schema: it is too large to compile",
      });
    } finally {
      compiler.close();
    }
  });

  test("an invalid schema is refused with ajv's reason, from the worker", async () => {
    const compiler = new SchemaCompiler();
    try {
      await expect(compiler.compile({ eventType: "e", type: "object", properties: { a: { type: "no-such-type" } } }, 0)).rejects.toMatchObject({
        code: "INVALID_SCHEMA",
        message: expect.stringMatching(/^schemas\[0\] \(e\) is not a valid JSON Schema: schema is invalid: data\/properties\/a\/type must be equal to one of the allowed values/),
      });
    } finally {
      compiler.close();
    }
  });
});
