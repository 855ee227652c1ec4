/**
 * Errors thrown by the client.
 *
 * @module
 */

/** Options of {@link EventStoreError}. */
export interface EventStoreErrorOptions {
  /** HTTP status; 0 when no response arrived (network error, timeout). */
  status: number;
  /** Machine-readable code, e.g. `"TOPIC_NOT_FOUND"`, `"HTTP_502"`, `"TIMEOUT"`. */
  code: string;
  /** The parsed JSON body of the error response, when there was one. */
  body?: unknown;
  /** What the answer's `Retry-After` header asked for, in ms. */
  retryAfterMs?: number;
  cause?: unknown;
}

/**
 * A request to the Event Store failed: the server answered with a non-2xx
 * status, or no answer arrived (`status` 0, code `"NETWORK_ERROR"` or
 * `"TIMEOUT"`).
 *
 * @example
 * ```ts
 * try {
 *   await client.getTopic("missing");
 * } catch (error) {
 *   if (error instanceof EventStoreError && error.status === 404) {
 *     console.log(error.code); // e.g. "TOPIC_NOT_FOUND"
 *   }
 * }
 * ```
 */
export class EventStoreError extends Error {
  override readonly name = "EventStoreError";
  /** HTTP status; 0 when no response arrived. */
  readonly status: number;
  /** The server's `code`, else `"HTTP_<status>"`, `"NETWORK_ERROR"` or `"TIMEOUT"`. */
  readonly code: string;
  /** The parsed JSON body of the error response, when there was one. */
  readonly body: unknown;
  /** How long the server asked to wait (`Retry-After` of a 429 or 503), in ms; else `undefined`. */
  readonly retryAfterMs: number | undefined;

  constructor(message: string, options: EventStoreErrorOptions) {
    super(message, { cause: options.cause });
    this.status = options.status;
    this.code = options.code;
    this.body = options.body;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** Why `verifyWebhook` rejected a delivery. */
export type WebhookVerificationErrorCode =
  | "INVALID_SIGNATURE"
  | "TIMESTAMP_OUT_OF_RANGE"
  | "MISSING_HEADERS";

/**
 * A webhook delivery failed verification: no signature matched, the timestamp
 * is outside the tolerance, or a `webhook-*` header is missing or malformed.
 *
 * @example
 * ```ts
 * try {
 *   await verifyWebhook(secret, request.headers, body);
 * } catch (error) {
 *   if (error instanceof WebhookVerificationError) return new Response(null, { status: 401 });
 *   throw error;
 * }
 * ```
 */
export class WebhookVerificationError extends Error {
  override readonly name = "WebhookVerificationError";
  readonly code: WebhookVerificationErrorCode;

  constructor(
    message: string,
    code: WebhookVerificationErrorCode,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.code = code;
  }
}
