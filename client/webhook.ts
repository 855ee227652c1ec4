/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com), with
 * WebCrypto so it runs in Bun, Node, Deno and browsers.
 *
 * @module
 */
import { WebhookVerificationError } from "./errors.ts";
import { webCrypto } from "./web-crypto.ts";

/** Accepted distance between a delivery's timestamp and now, in seconds. @default 300 */
export const DEFAULT_WEBHOOK_TOLERANCE_SECONDS = 300;

const SECRET_PREFIX = "whsec_";
const SIGNATURE_VERSION = "v1";

/** Request headers: a `Headers` or a plain record, e.g. Node's `req.headers`. */
export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

/** Options of {@link verifyWebhook}. */
export interface VerifyWebhookOptions {
  /**
   * Maximum distance between `webhook-timestamp` and `now`, in seconds, in
   * either direction.
   * @default 300
   */
  toleranceSeconds?: number;
  /** The current time. @default new Date() */
  now?: Date;
}

/**
 * Verifies a webhook delivery: one of the `v1,` signatures in
 * `webhook-signature` must be the HMAC-SHA256 of
 * `${webhook-id}.${webhook-timestamp}.${body}` under the secret, and the
 * timestamp must be within `toleranceSeconds` of now. Pass the raw body,
 * exactly as received, not re-serialised JSON.
 *
 * @param secret The consumer's secret, `whsec_<base64 key>`.
 * @returns `true`.
 * @throws {WebhookVerificationError} code `"MISSING_HEADERS"` (a header is
 * absent or malformed), `"TIMESTAMP_OUT_OF_RANGE"` or `"INVALID_SIGNATURE"`.
 *
 * @example
 * ```ts
 * Bun.serve({
 *   async fetch(request) {
 *     const body = await request.text();
 *     await verifyWebhook(secret, request.headers, body); // throws when forged
 *     const { events } = JSON.parse(body);
 *     return new Response(null, { status: 204 });
 *   },
 * });
 * ```
 */
export async function verifyWebhook(
  secret: string,
  headers: WebhookHeaders,
  body: string | Uint8Array,
  options: VerifyWebhookOptions = {},
): Promise<true> {
  const { toleranceSeconds = DEFAULT_WEBHOOK_TOLERANCE_SECONDS, now = new Date() } = options;
  const id = header(headers, "webhook-id");
  const timestamp = header(headers, "webhook-timestamp");
  const signatures = header(headers, "webhook-signature");
  if (!id || !timestamp || !signatures) {
    throw new WebhookVerificationError(
      "Missing webhook-id, webhook-timestamp or webhook-signature header",
      "MISSING_HEADERS",
    );
  }
  if (!/^\d+$/.test(timestamp)) {
    throw new WebhookVerificationError(
      `Malformed webhook-timestamp header: ${timestamp}`,
      "MISSING_HEADERS",
    );
  }
  const nowSeconds = Math.floor(now.getTime() / 1000);
  if (Math.abs(nowSeconds - Number(timestamp)) > toleranceSeconds) {
    throw new WebhookVerificationError(
      `webhook-timestamp ${timestamp} is more than ${toleranceSeconds} s from now (${nowSeconds})`,
      "TIMESTAMP_OUT_OF_RANGE",
    );
  }

  const expected = await hmac(secret, id, timestamp, body);
  for (const entry of signatures.split(" ")) {
    const comma = entry.indexOf(",");
    if (comma < 0 || entry.slice(0, comma) !== SIGNATURE_VERSION) continue;
    const candidate = decodeBase64(entry.slice(comma + 1));
    if (candidate !== undefined && constantTimeEqual(candidate, expected)) return true;
  }
  throw new WebhookVerificationError("No matching webhook signature", "INVALID_SIGNATURE");
}

/**
 * Signs a delivery the way the server does; returns the `webhook-signature`
 * header value `v1,<base64 signature>`.
 *
 * @example
 * ```ts
 * const timestamp = Math.floor(Date.now() / 1000);
 * const signature = await signWebhook(secret, "msg_1", timestamp, body);
 * await verifyWebhook(secret, {
 *   "webhook-id": "msg_1",
 *   "webhook-timestamp": String(timestamp),
 *   "webhook-signature": signature,
 * }, body);
 * ```
 */
export async function signWebhook(
  secret: string,
  id: string,
  timestampSeconds: number,
  body: string | Uint8Array,
): Promise<string> {
  const signature = await hmac(secret, id, String(timestampSeconds), body);
  return `${SIGNATURE_VERSION},${encodeBase64(signature)}`;
}

async function hmac(
  secret: string,
  id: string,
  timestamp: string,
  body: string | Uint8Array,
): Promise<Uint8Array> {
  const { subtle } = await webCrypto();
  const key = await subtle.importKey(
    "raw",
    secretKey(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const encoder = new TextEncoder();
  const prefix = encoder.encode(`${id}.${timestamp}.`);
  // Signed as bytes so a binary body is not altered by a decode/encode trip.
  const bodyBytes = typeof body === "string" ? encoder.encode(body) : body;
  const content = new Uint8Array(prefix.length + bodyBytes.length);
  content.set(prefix, 0);
  content.set(bodyBytes, prefix.length);
  return new Uint8Array(await subtle.sign("HMAC", key, content));
}

function secretKey(secret: string): Uint8Array<ArrayBuffer> {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  const key = decodeBase64(encoded);
  if (key === undefined || key.length === 0) {
    throw new TypeError("Webhook secret must be whsec_ followed by a base64 key");
  }
  return key;
}

function header(headers: WebhookHeaders, name: string): string | undefined {
  // Duck-typed: the Headers class of another realm or polyfill also counts.
  if (typeof headers.get === "function") return (headers as Headers).get(name) ?? undefined;
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name) return Array.isArray(value) ? value[0] : value;
  }
  return undefined;
}

/** Compares in time independent of where the inputs differ. */
function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return difference === 0;
}

function decodeBase64(text: string): Uint8Array<ArrayBuffer> | undefined {
  let binary: string;
  try {
    binary = atob(text);
  } catch {
    return undefined;
  }
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function encodeBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}
