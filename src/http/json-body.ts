import { Elysia } from "elysia";
import { MalformedJsonError, PayloadTooLargeError } from "../errors.ts";

/**
 * Parses every request body as JSON, whatever its Content-Type, and enforces
 * the size limit before buffering: a declared Content-Length over the limit is
 * refused unread, and a chunked body is counted as it streams and cut off at
 * the limit, so no body can make the server hold more than the limit.
 */
export function jsonBody(maxBodyBytes: number) {
  return new Elysia({ name: "json-body", seed: maxBodyBytes }).onParse({ as: "global" }, async ({ request }) => {
    const text = await readText(request, maxBodyBytes);
    if (text === "") return undefined; // no body: routes without one (e.g. resume) accept that
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      throw new MalformedJsonError({ cause: error });
    }
  });
}

const decoder = new TextDecoder("utf-8", { fatal: true });

async function readText(request: Request, limit: number): Promise<string> {
  const declared = request.headers.get("content-length");
  if (declared !== null) {
    if (Number(declared) > limit) throw new PayloadTooLargeError(limit);
    // bytes() without touching `body`: no stream object and no extra ArrayBuffer view per request.
    return decode(await request.bytes());
  }
  if (request.body === null) return "";
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = request.body.getReader();
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
  return decode(Buffer.concat(chunks));
}

function decode(bytes: Uint8Array): string {
  try {
    return decoder.decode(bytes);
  } catch (error) {
    throw new MalformedJsonError({ cause: error });
  }
}
