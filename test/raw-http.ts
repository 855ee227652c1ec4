import { connect } from "node:net";

export interface RawAnswer {
  /** 0 when the server closed without answering. */
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The server closed the connection (within `waitMs` of its answer). */
  closed: boolean;
  /** From the first byte sent to the answer's arrival. */
  elapsedMs: number;
}

export interface RawRequestOptions {
  /** Sent one after another; a number waits that many ms (the connection stays open). */
  parts: readonly (string | number)[];
  /** How long to wait for the answer and the close. @default 10 000 */
  waitMs?: number;
}

/**
 * Speaks HTTP/1.1 over a plain TCP socket, for requests `fetch` refuses to
 * send: lying or doubled Content-Length, bodies that trickle in, framing errors.
 */
export function rawRequest(port: number, options: RawRequestOptions): Promise<RawAnswer> {
  const { promise, resolve } = Promise.withResolvers<RawAnswer>();
  const socket = connect(port, "127.0.0.1");
  const started = performance.now();
  let received = "";
  let answeredAt: number | undefined;
  let sending = true;
  const finish = (closed: boolean) => {
    sending = false;
    clearTimeout(timer);
    socket.destroy();
    resolve({ ...parse(received), closed, elapsedMs: (answeredAt ?? performance.now()) - started });
  };
  const timer = setTimeout(() => finish(false), options.waitMs ?? 10_000);
  socket.on("data", (chunk) => {
    received += chunk.toString("latin1");
    answeredAt ??= performance.now();
  });
  socket.on("close", () => finish(true));
  socket.on("error", () => {});
  socket.on("connect", async () => {
    for (const part of options.parts) {
      if (!sending) return;
      if (typeof part === "number") await Bun.sleep(part);
      else socket.write(part);
    }
  });
  return promise;
}

function parse(raw: string): Omit<RawAnswer, "closed" | "elapsedMs"> {
  const end = raw.indexOf("\r\n\r\n");
  if (end === -1) return { status: 0, headers: {}, body: "" };
  const [statusLine, ...lines] = raw.slice(0, end).split("\r\n");
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(statusLine!.split(" ")[1]), headers, body: raw.slice(end + 4) };
}
