import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type ServerProcess, startServerProcess } from "../server-process.ts";
import { Scrape } from "../prometheus.ts";
import { tempDir, waitFor } from "../utils.ts";
import { compiledBinary } from "./binary.ts";

const BINARY = compiledBinary();
const TIMEOUT_MS = 120_000;
const SCHEMAS = [{ eventType: "e", type: "object", properties: { n: { type: "integer" } }, required: ["n"] }];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a CLI command of the compiled binary against `server`, from an empty directory. */
async function cli(server: ServerProcess | string, args: string[], options: { stdin?: string; env?: Record<string, string> } = {}): Promise<Run> {
  using cwd = tempDir();
  const url = typeof server === "string" ? server : server.url;
  const child = Bun.spawn([BINARY, "--url", url, ...args], {
    cwd: cwd.path,
    env: { ...process.env, ...options.env },
    stdin: options.stdin === undefined ? "ignore" : new TextEncoder().encode(options.stdin),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { code, stdout, stderr };
}

async function withServer(work: (server: ServerProcess, dir: string) => Promise<void>, env: Record<string, string> = {}): Promise<void> {
  using dir = tempDir();
  const server = await startServerProcess({ DATA_DIR: join(dir.path, "data"), CONFIG_DIR: join(dir.path, "config"), ...env }, [BINARY]);
  try {
    await work(server, dir.path);
  } finally {
    await server.terminate();
  }
}

async function head(server: ServerProcess, topic: string): Promise<number> {
  return ((await (await fetch(`${server.url}/topics/${topic}`)).json()) as { sequence: number }).sequence;
}

/** Every event of a topic, read through the API page by page. */
async function allEvents(server: ServerProcess, topic: string): Promise<{ id: string; payload: { n: number } }[]> {
  const events: { id: string; payload: { n: number } }[] = [];
  for (;;) {
    const since = events.length === 0 ? "" : `&sinceEventId=${events.at(-1)!.id}`;
    const page = (await (await fetch(`${server.url}/topics/${topic}/events?limit=10000${since}`)).json()) as { events: typeof events };
    if (page.events.length === 0) return events;
    for (const event of page.events) events.push(event);
  }
}

function ndjson(count: number, from = 0): string {
  let text = "";
  for (let n = from; n < from + count; n++) text += `{"type":"e","payload":{"n":${n}}}\n`;
  return text;
}

describe(`the CLI of the compiled executable (${BINARY})`, () => {
  test("health, topics create (schemas from stdin) / list / get / update, in every output format", async () => {
    await withServer(async (server, dir) => {
      expect(await cli(server, ["health", "-o", "json"])).toEqual({ code: 0, stdout: `${JSON.stringify({ status: "healthy", consumers: 0, runningDispatchers: [] }, null, 2)}\n`, stderr: "" });
      const created = await cli(server, ["topics", "create", "orders", "--schemas", "-"], { stdin: JSON.stringify(SCHEMAS) });
      expect(created).toEqual({ code: 0, stdout: "NAME    EVENTTYPES\norders  e\n", stderr: "" });
      const listed = await cli(server, ["topics", "list", "-o", "ndjson"]);
      expect(listed.code).toBe(0);
      expect(JSON.parse(listed.stdout)).toEqual({ name: "orders", sequence: 0, createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), eventTypes: "e" });
      const got = await cli(server, ["--output", "json", "topics", "get", "orders"]);
      expect(JSON.parse(got.stdout)).toMatchObject({ name: "orders", sequence: 0, schemas: SCHEMAS });
      const csv = await cli(server, ["topics", "list", "-o", "csv"]);
      expect(csv.stdout.split("\n")[0]).toBe("name,sequence,createdAt,eventTypes");
      const schemasFile = join(dir, "schemas.json");
      writeFileSync(schemasFile, JSON.stringify({ schemas: [...SCHEMAS, { eventType: "f", type: "object" }] }));
      expect((await cli(server, ["topics", "update", "orders", "--schemas", schemasFile])).stdout).toBe("NAME    EVENTTYPES\norders  e f\n");
    });
  }, TIMEOUT_MS);

  test("API errors exit 1 with the server's {error, code} on stderr; usage errors exit 2", async () => {
    await withServer(async (server) => {
      expect(await cli(server, ["topics", "get", "nope"])).toEqual({ code: 1, stdout: "", stderr: `${JSON.stringify({ error: "Topic 'nope' not found", code: "TOPIC_NOT_FOUND" })}\n` });
      await cli(server, ["topics", "create", "t", "--schemas", "-"], { stdin: JSON.stringify(SCHEMAS) });
      const invalid = await cli(server, ["publish", "t", "e", '{"n":"x"}']);
      expect(invalid.code).toBe(1);
      expect(JSON.parse(invalid.stderr)).toEqual({ error: "events[0]: Schema validation failed for 'e': payload/n must be integer", code: "SCHEMA_VALIDATION_FAILED" });
      expect(await cli(server, ["publish", "t", "e", "{not json"])).toMatchObject({ code: 2, stdout: "" });
      expect((await cli(server, ["topics", "get"])).code).toBe(2);
      expect((await cli(server, ["-o", "yaml", "health"])).code).toBe(2);
      expect(await cli(server, ["publish", "t", "--file", "/no/such/file"])).toEqual({ code: 2, stdout: "", stderr: "event-store: cannot read '/no/such/file': no such file\n" });
      // Nothing listens on port 9: a network error, reported like an API error.
      const down = await cli("http://127.0.0.1:9", ["health"]);
      expect(down.code).toBe(1);
      expect(JSON.parse(down.stderr).code).toBe("NETWORK_ERROR");
      expect(await head(server, "t")).toBe(0);
    });
  }, TIMEOUT_MS);

  test("--token and EVENT_STORE_TOKEN authenticate against a server with AUTH_TOKEN", async () => {
    await withServer(
      async (server) => {
        expect((await cli(server, ["topics", "list"])).code).toBe(1);
        expect((await cli(server, ["--token", "s3cret", "topics", "list", "-o", "json"])).stdout).toBe(`${JSON.stringify({ topics: [] }, null, 2)}\n`);
        expect((await cli(server, ["topics", "list"], { env: { EVENT_STORE_TOKEN: "s3cret" } })).code).toBe(0);
      },
      { AUTH_TOKEN: "s3cret" },
    );
  }, TIMEOUT_MS);

  test("publish one event and read it back; consumers register / list / get / resume / delete", async () => {
    await withServer(async (server) => {
      await cli(server, ["topics", "create", "t", "--schemas", "-"], { stdin: JSON.stringify(SCHEMAS) });
      expect(await cli(server, ["publish", "t", "e", '{"n":1}', "-o", "json"])).toEqual({ code: 0, stdout: `${JSON.stringify({ eventId: "t-1" }, null, 2)}\n`, stderr: "" });
      expect(await cli(server, ["publish", "t", "e", '{"n":2}'])).toEqual({ code: 0, stdout: "EVENTID\nt-2\n", stderr: "" });
      const read = await cli(server, ["events", "t", "--since", "t-1", "-o", "ndjson"]);
      expect(read.stdout.trim().split("\n").map((line) => JSON.parse(line))).toEqual([{ id: "t-2", timestamp: expect.any(String), type: "e", payload: { n: 2 } }]);
      expect((await cli(server, ["events", "t", "--limit", "1", "-o", "csv"])).stdout).toMatch(/^id,timestamp,type,payload\nt-1,[^,]+,e,"\{""n"":1\}"\n$/);

      const registered = await cli(server, ["consumers", "register", "--callback", "http://127.0.0.1:9/hook", "--topic", "t=t-2", "-o", "json"]);
      const { consumerId } = JSON.parse(registered.stdout) as { consumerId: string };
      const listed = JSON.parse((await cli(server, ["consumers", "list", "-o", "json"])).stdout) as { consumers: { id: string; progress: unknown }[] };
      expect(listed.consumers.map((c) => [c.id, c.progress])).toEqual([[consumerId, { t: { head: 2, cursor: 2, lag: 0, oldestPendingAt: null, lagSeconds: 0 } }]]);
      expect((await cli(server, ["consumers", "get", consumerId, "-o", "ndjson"])).stdout).toBe(
        `${JSON.stringify({ id: consumerId, status: "active", callback: "http://127.0.0.1:9/hook", lag: "t:0", lagSeconds: 0, lastError: null, nextAttemptAt: null })}\n`,
      );
      expect((await cli(server, ["consumers", "resume", consumerId])).stdout).toBe(`MESSAGE\nConsumer ${consumerId} resumed\n`);
      expect((await cli(server, ["consumers", "delete", consumerId])).stdout).toBe(`MESSAGE\nConsumer ${consumerId} unregistered\n`);
      expect((await cli(server, ["consumers", "get", consumerId])).code).toBe(1);
    });
  }, TIMEOUT_MS);

  test("bulk publish of 100 000 NDJSON events from a file: all stored once, in file order; a re-run stores nothing", async () => {
    await withServer(async (server, dir) => {
      await cli(server, ["topics", "create", "bulk", "--schemas", "-"], { stdin: JSON.stringify(SCHEMAS) });
      const file = join(dir, "events.ndjson");
      writeFileSync(file, ndjson(100_000));
      const first = await cli(server, ["publish", "bulk", "--file", file, "-o", "json"]);
      expect(first.code).toBe(0);
      const summary = JSON.parse(first.stdout) as { published: number; batches: number; eventsPerSecond: number };
      expect([summary.published, summary.batches]).toEqual([100_000, 100]);
      console.log(`CLI bulk publish: ${summary.eventsPerSecond} events/s`);
      expect(await head(server, "bulk")).toBe(100_000);
      const events = await allEvents(server, "bulk");
      expect(events.length).toBe(100_000);
      expect(events.every((event, i) => event.id === `bulk-${i + 1}` && event.payload.n === i)).toBe(true);

      const again = await cli(server, ["publish", "bulk", "--file", file, "-o", "json"]);
      expect(again.code).toBe(0);
      expect(await head(server, "bulk")).toBe(100_000);
      expect((await Scrape.of(server.url)).value("event_store_events_appended_total")).toBe(100_000);
    });
  }, TIMEOUT_MS);

  test("kill -9 mid-import, then a re-run of the whole input: every event stored exactly once, in order", async () => {
    await withServer(async (server, dir) => {
      await cli(server, ["topics", "create", "bulk", "--schemas", "-"], { stdin: JSON.stringify(SCHEMAS) });
      // Feeds stdin by hand so the kill lands at a known point: 50 batches acknowledged, a 51st half read.
      const importer = Bun.spawn([BINARY, "--url", server.url, "publish", "bulk", "--file", "-"], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
      importer.stdin.write(ndjson(50_500));
      await importer.stdin.flush();
      await waitFor(async () => (await head(server, "bulk")) >= 50_000, 30_000, "the first 50 batches");
      importer.kill("SIGKILL");
      expect(await importer.exited).not.toBe(0);
      expect(await head(server, "bulk")).toBe(50_000);

      const file = join(dir, "events.ndjson");
      writeFileSync(file, ndjson(100_000));
      const rerun = await cli(server, ["publish", "bulk", "--file", file, "-o", "json"]);
      expect(rerun.code).toBe(0);
      expect(await head(server, "bulk")).toBe(100_000);
      const events = await allEvents(server, "bulk");
      expect(events.every((event, i) => event.id === `bulk-${i + 1}` && event.payload.n === i)).toBe(true);
      // The first 50 000 were replayed by their keys, not stored again.
      expect((await Scrape.of(server.url)).value("event_store_events_appended_total")).toBe(100_000);
    });
  }, TIMEOUT_MS);

  test("events --follow prints the stored events, then a new one as it is published", async () => {
    await withServer(async (server) => {
      await cli(server, ["topics", "create", "t", "--schemas", "-"], { stdin: JSON.stringify(SCHEMAS) });
      await cli(server, ["publish", "t", "e", '{"n":1}']);
      const follower = Bun.spawn([BINARY, "--url", server.url, "events", "t", "--follow", "-o", "ndjson"], { stdout: "pipe", stderr: "pipe" });
      try {
        const reader = follower.stdout.getReader();
        const lines: string[] = [];
        let buffered = "";
        const nextLine = async () => {
          while (!buffered.includes("\n")) {
            const { value, done } = await reader.read();
            if (done) throw new Error("the follower ended");
            buffered += new TextDecoder().decode(value);
          }
          const line = buffered.slice(0, buffered.indexOf("\n"));
          buffered = buffered.slice(line.length + 1);
          lines.push(line);
          return JSON.parse(line) as { id: string; payload: unknown };
        };
        expect(await nextLine()).toMatchObject({ id: "t-1", payload: { n: 1 } });
        await cli(server, ["publish", "t", "e", '{"n":2}']);
        expect(await nextLine()).toMatchObject({ id: "t-2", payload: { n: 2 } });
      } finally {
        follower.kill("SIGTERM");
        await follower.exited;
      }
    });
  }, TIMEOUT_MS);

  test("completion scripts for bash, zsh and fish name every command; bash parses its script", async () => {
    for (const shell of ["bash", "zsh", "fish"]) {
      const { code, stdout } = await cli("http://127.0.0.1:9", ["completion", shell]);
      expect(code).toBe(0);
      // fish names a flag without its dashes (`-l follow`).
      const flag = (name: string) => (shell === "fish" ? `-l ${name}` : `--${name}`);
      for (const word of ["serve", "health", "topics", "publish", "events", "consumers", flag("follow"), flag("port"), flag("output")]) expect(stdout).toContain(word);
    }
    const bash = (await cli("http://127.0.0.1:9", ["completion", "bash"])).stdout;
    using dir = tempDir();
    writeFileSync(join(dir.path, "c.bash"), bash);
    const complete = (words: string) =>
      Bun.spawnSync(["bash", "-c", `source ${join(dir.path, "c.bash")}; COMP_WORDS=(${words}); COMP_CWORD=$((\${#COMP_WORDS[@]} - 1)); _event_store_complete; echo "\${COMPREPLY[*]}"`]).stdout.toString().trim();
    expect(complete('event-store topics ""')).toBe("list get create update --help");
    // A flag's value is not taken for a command.
    expect(complete('event-store --url http://x consumers re')).toBe("register resume");
    expect(complete("event-store events t --fol")).toBe("--follow");
    expect((await cli("http://127.0.0.1:9", ["completion", "tcsh"])).code).toBe(2);
  }, TIMEOUT_MS);
});
