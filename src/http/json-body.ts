import { Elysia } from "elysia";
import { MalformedJsonError, NestingTooDeepError, PayloadTooLargeError, RequestTimeoutError } from "../errors.ts";
import { exceedsJsonDepth } from "../json/json-depth.ts";
import { JSON_PIECE_CHARS, parseJsonInPieces } from "../json/json-in-pieces.ts";

export interface JsonBodyOptions {
  /** Larger bodies get 413, whether declared or streamed. */
  maxBodyBytes: number;
  /** Deeper bodies get 400 NESTING_TOO_DEEP before they are parsed. */
  maxJsonDepth: number;
  /** A body still arriving after this long gets 408 and its connection is closed. */
  bodyTimeoutMs: number;
}

/**
 * Parses every request body as JSON, whatever its Content-Type. Each check
 * runs before the step it protects: a declared Content-Length over the limit
 * is refused unread, a chunked body is counted as it streams and cut off at
 * the limit, a slow body is cut off at its deadline, and the nesting depth
 * is measured on the bytes before anything parses them. A large body is
 * parsed in pieces, so the requests answered meanwhile wait for one piece,
 * not for the whole body.
 */
export function jsonBody(options: JsonBodyOptions) {
  const { maxBodyBytes, maxJsonDepth, bodyTimeoutMs } = options;
  return new Elysia({ name: "json-body", seed: options }).onParse({ as: "global" }, async ({ request }) => {
    const bytes = await readBody(request, maxBodyBytes, bodyTimeoutMs);
    if (bytes === null || bytes.byteLength === 0) return undefined; // no body: routes without one (e.g. resume) accept that
    if (exceedsJsonDepth(bytes, maxJsonDepth)) throw new NestingTooDeepError(maxJsonDepth);
    const text = decode(bytes);
    try {
      return text.length < JSON_PIECE_CHARS ? (JSON.parse(text) as unknown) : await parseJsonInPieces(text);
    } catch (error) {
      throw new MalformedJsonError({ cause: error });
    }
  });
}

const decoder = new TextDecoder("utf-8", { fatal: true });

async function readBody(request: Request, limit: number, timeoutMs: number): Promise<Uint8Array | null> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) throw new PayloadTooLargeError(limit);
  if (declared === null && request.body === null) return null;
  let timer: Timer | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RequestTimeoutError(timeoutMs)), timeoutMs);
  });
  // bytes() without touching `body` when the length is declared: no stream object per request.
  const reading = declared !== null ? request.bytes() : readCounted(request.body!, limit);
  try {
    return await Promise.race([reading, deadline]);
  } finally {
    clearTimeout(timer);
    // A body given up on at its deadline rejects later, when its connection closes.
    reading.catch(() => {});
  }
}

async function readCounted(body: ReadableStream<Uint8Array>, limit: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel();
      throw new PayloadTooLargeError(limit);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

function decode(bytes: Uint8Array): string {
  try {
    return decoder.decode(bytes);
  } catch (error) {
    throw new MalformedJsonError({ cause: error });
  }
}
