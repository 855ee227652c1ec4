import { describe, expect, test } from "bun:test";
import type { Socket } from "bun";
import { details, detailsWhen, startStore } from "./consumer-harness.ts";
import { tempDir } from "./utils.ts";
import { ids, startReceiver } from "./webhook-receiver.ts";

/** What a hostile receiver does with one delivery (one connection). */
type Behaviour = (socket: Socket<ConnState>) => void;

interface ConnState {
  buffer: Buffer;
  done: boolean;
}

interface RawDelivery {
  eventIds: string[];
}

interface RawReceiver extends AsyncDisposable {
  url: string;
  /** Connections that got the hostile treatment. */
  hostile: number;
  /** Deliveries answered 204 once the receiver behaves. */
  accepted: RawDelivery[];
}

/**
 * A receiver speaking raw TCP, so it can do what no HTTP server library
 * would: the first `hostileCount` connections get `behaviour` (hang, reset,
 * garbage…), later ones a well-formed 204 after the whole request is read.
 */
function startRawReceiver(behaviour: Behaviour, hostileCount: number): RawReceiver {
  const state: RawReceiver = {
    url: "",
    hostile: 0,
    accepted: [],
    async [Symbol.asyncDispose]() {
      listener.stop(true);
    },
  };
  const listener = Bun.listen<ConnState>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(socket) {
        socket.data = { buffer: Buffer.alloc(0), done: false };
      },
      data(socket, chunk) {
        const conn = socket.data;
        if (conn.done) return;
        conn.buffer = Buffer.concat([conn.buffer, chunk]);
        const end = conn.buffer.indexOf("\r\n\r\n");
        if (end === -1) return;
        const head = conn.buffer.subarray(0, end).toString("latin1");
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (conn.buffer.length < end + 4 + length) return;
        conn.done = true;
        if (state.hostile < hostileCount) {
          state.hostile++;
          behaviour(socket);
          return;
        }
        const body = JSON.parse(conn.buffer.subarray(end + 4, end + 4 + length).toString("utf8")) as { events: { id: string }[] };
        state.accepted.push({ eventIds: body.events.map((e) => e.id) });
        socket.end("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
      },
      error() {},
    },
  });
  state.url = `http://127.0.0.1:${listener.port}/hook`;
  return state;
}

const HOSTILE: [name: string, behaviour: Behaviour, expectedError: RegExp][] = [
  ["never answers (hangs after reading the request)", () => {}, /^timeout after \d+ ms$/],
  ["sends a status line, then nothing more", (s) => void s.write("HTTP/1.1 200 OK\r\n"), /^timeout after \d+ ms$/],
  ["drips its headers a byte at a time (slowloris)", (s) => drip(s, "HTTP/1.1 200 OK\r\nX-Slow: " + "a".repeat(1000)), /^timeout after \d+ ms$/],
  ["resets the connection mid-status-line", (s) => (s.write("HTTP/1.1 20"), s.terminate()), /^connection failed: /],
  ["closes the connection without a word", (s) => s.end(), /^connection failed: /],
  ["answers garbage (an SSH banner) and closes", (s) => s.end("SSH-2.0-OpenSSH_9.6\r\n\u0000\u00ff\u0001garbage\r\n\r\n"), /^connection failed: /],
  ["answers random bytes and keeps the connection open", (s) => void s.write(new Uint8Array(Array.from({ length: 512 }, (_, i) => (i * 7919) % 256))), /^(connection failed: .+|timeout after \d+ ms)$/],
  ["answers HTTP/0.9 style (a bare body)", (s) => s.end("ok\n"), /^(connection failed: .+|timeout after \d+ ms)$/],
  ["answers an impossible status code", (s) => s.end("HTTP/1.1 999 Nope\r\nContent-Length: 0\r\n\r\n"), /^(HTTP 999|connection failed: .+)$/],
  ["answers 500 then resets mid-body", (s) => (s.write("HTTP/1.1 500 Oops\r\nContent-Length: 1000\r\n\r\nxx"), s.terminate()), /^(HTTP 500|connection failed: .+)$/],
  ["sends 1 MiB of headers with a 500", (s) => s.end(`HTTP/1.1 500 Oops\r\nX-Big: ${"b".repeat(1 << 20)}\r\nContent-Length: 0\r\n\r\n`), /^(connection failed: .+|HTTP 500)$/],
  ["redirects to itself (308)", (s) => s.end("HTTP/1.1 308 Permanent Redirect\r\nLocation: /hook\r\nContent-Length: 0\r\n\r\n"), /^HTTP 308$/],
  ["redirects to the cloud metadata address (302)", (s) => s.end("HTTP/1.1 302 Found\r\nLocation: http://169.254.169.254/latest/meta-data/\r\nContent-Length: 0\r\n\r\n"), /^HTTP 302$/],
];

function drip(socket: Socket<ConnState>, text: string): void {
  let i = 0;
  const timer = setInterval(() => {
    if (i >= text.length || socket.readyState !== 1) return clearInterval(timer);
    socket.write(text[i++]!);
  }, 20);
}

const TIMEOUT_MS = 800;
const SETTINGS = { consumerRetryBaseMs: 5, consumerRetryMaxMs: 20, deliveryTimeoutMs: TIMEOUT_MS, consumerMaxAttempts: 100 };
/** Every hostile answer is given this many times before the receiver recovers. */
const HOSTILE_ATTEMPTS = 2;

describe("hostile receivers", () => {
  test.each(HOSTILE)(
    "a receiver that %s: a failed attempt with a clear error, no effect on another consumer, every event later, in order",
    async (_, behaviour, expectedError) => {
      using dir = tempDir();
      await using hostile = startRawReceiver(behaviour, HOSTILE_ATTEMPTS);
      await using good = startReceiver();
      await using store = await startStore(dir.path, SETTINGS);
      await store.createTopic("t");
      const bad = await store.register(hostile.url, { t: null });
      await store.register(good.url, { t: null });
      await store.publish("t", 3);
      // The healthy consumer of the same topic is served while the hostile one is still on its first attempt.
      await good.untilAccepted(ids("t", 1, 3), TIMEOUT_MS * 4);
      const failed = await detailsWhen(store, bad.consumerId, (d) => d.lastError !== null, "a failed attempt");
      expect(failed.lastError).toMatch(expectedError);
      
      await store.publish("t", 2);
      await detailsWhen(store, bad.consumerId, (d) => d.topics.t === "t-5", "cursor t-5");
      expect(hostile.hostile).toBe(HOSTILE_ATTEMPTS);
      expect(hostile.accepted.flatMap((d) => d.eventIds)).toEqual(ids("t", 1, 5));
      expect((await details(store, bad.consumerId)).status).toBe("active");
      expect((await store.api("GET", "/health")).status).toBe(200);
    },
    TIMEOUT_MS * 10 + 5_000,
  );

  test("a 2xx whose body never ends is acknowledged at its status; the endless body is not read", async () => {
    using dir = tempDir();
    let streamed = 0;
    await using endless = startReceiver(
      () =>
        new Response(
          new ReadableStream({
            pull(controller) {
              streamed++;
              controller.enqueue(new Uint8Array(64 * 1024));
              return Bun.sleep(1);
            },
          }),
          { status: 200 },
        ),
    );
    await using store = await startStore(dir.path, SETTINGS);
    await store.createTopic("t");
    const { consumerId } = await store.register(endless.url, { t: null });
    for (let i = 0; i < 3; i++) await store.publish("t", 1);
    await detailsWhen(store, consumerId, (d) => d.topics.t === "t-3", "cursor t-3");
    expect(endless.acceptedIds()).toEqual(ids("t", 1, 3));
    const after = streamed;
    await Bun.sleep(100);
    expect(streamed - after).toBeLessThan(50); // cancelled: not drained into memory
  });
});
