/**
 * Every failure the server reports is one of these classes. Each carries the
 * HTTP status and a stable machine-readable `code`; the HTTP layer maps them
 * to `{"error": message, "code": code}` and never inspects message text.
 */
/** The codes of a 400 INVALID_REQUEST family: what `InvalidRequestError` may carry. */
export const INVALID_REQUEST_CODES = [
  "INVALID_REQUEST",
  "BATCH_TOO_LARGE",
  "INVALID_DATE",
  "INVALID_EVENT_ID",
  "INVALID_IDEMPOTENCY_KEY",
  "INVALID_LIMIT",
  "INVALID_WAIT",
  "PAYLOAD_TOO_DEEP",
] as const;
export type InvalidRequestCode = (typeof INVALID_REQUEST_CODES)[number];

/**
 * Every `code` the server answers with: a closed set. A new failure gets a
 * class here and its code here; clients may switch on these.
 */
export const ERROR_CODES = [
  ...INVALID_REQUEST_CODES,
  "MALFORMED_JSON",
  "PAYLOAD_TOO_LARGE",
  "NESTING_TOO_DEEP",
  "REQUEST_TIMEOUT",
  "SCHEMA_TOO_LARGE",
  "INVALID_TOPIC_NAME",
  "INVALID_SCHEMA",
  "TOPIC_EXISTS",
  "TOPIC_NOT_FOUND",
  "UNKNOWN_EVENT_TYPE",
  "SCHEMA_VALIDATION_FAILED",
  "SCHEMA_REMOVED",
  "SEQUENCE_CONFLICT",
  "IDEMPOTENCY_KEY_REUSED",
  "UNAUTHORIZED",
  "RATE_LIMITED",
  "NOT_FOUND",
  "WRITE_FAILED",
  "LOG_CORRUPT",
  "SHUTTING_DOWN",
  "INTERNAL_ERROR",
  "CONSUMER_NOT_FOUND",
  "INVALID_CALLBACK",
  "INVALID_CONSUMER_TOPICS",
  "INVALID_SECRET",
  "CONSUMERS_WRITE_FAILED",
  "CONSUMERS_CORRUPT",
  "CONSUMERS_UNAVAILABLE",
  "CLUSTER_UNAVAILABLE",
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export abstract class EventStoreError extends Error {
  abstract readonly status: number;
  abstract readonly code: ErrorCode;
  /** Extra fields merged into the JSON error body (never paths or stacks). */
  readonly details: Record<string, unknown> = {};
  /** Extra response headers, e.g. `WWW-Authenticate` or `Retry-After`. */
  readonly headers: Record<string, string> = {};

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class InvalidRequestError extends EventStoreError {
  readonly status = 400;
  readonly code: InvalidRequestCode;
  constructor(message: string, code: InvalidRequestCode = "INVALID_REQUEST", options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

export class MalformedJsonError extends EventStoreError {
  readonly status = 400;
  readonly code = "MALFORMED_JSON";
  constructor(options?: ErrorOptions) {
    super("Request body is not valid JSON", options);
  }
}

export class PayloadTooLargeError extends EventStoreError {
  readonly status = 413;
  readonly code = "PAYLOAD_TOO_LARGE";
  // The body is left unread: the connection is not reused.
  override readonly headers = { connection: "close" };
  constructor(limitBytes: number) {
    super(`Request body exceeds the limit of ${limitBytes} bytes`);
  }
}

/** JSON nested deeper than MAX_JSON_DEPTH; refused before it is parsed. */
export class NestingTooDeepError extends EventStoreError {
  readonly status = 400;
  readonly code = "NESTING_TOO_DEEP";
  constructor(maxDepth?: number, options?: ErrorOptions) {
    super(maxDepth === undefined ? "JSON is nested too deeply" : `JSON is nested deeper than the limit of ${maxDepth} levels`, options);
    if (maxDepth !== undefined) this.details.maxDepth = maxDepth;
  }
}

/** The request body did not arrive within BODY_TIMEOUT_MS. */
export class RequestTimeoutError extends EventStoreError {
  readonly status = 408;
  readonly code = "REQUEST_TIMEOUT";
  // The rest of the body may still be on its way: the connection is not reused.
  override readonly headers = { connection: "close" };
  constructor(timeoutMs: number) {
    super(`Request body did not arrive within ${timeoutMs} ms`);
  }
}

/** A topic document (name, schemas, dates) over MAX_SCHEMA_BYTES once stored. */
export class SchemaTooLargeError extends EventStoreError {
  readonly status = 400;
  readonly code = "SCHEMA_TOO_LARGE";
  constructor(limitBytes: number, actualBytes: number) {
    super(`The topic's schemas take ${actualBytes} bytes stored, over the limit of ${limitBytes}`);
    Object.assign(this.details, { limitBytes, actualBytes });
  }
}

export class InvalidTopicNameError extends EventStoreError {
  readonly status = 400;
  readonly code = "INVALID_TOPIC_NAME";
  constructor() {
    super(
      "Invalid topic name: use 1-128 characters from A-Z a-z 0-9 . _ -, starting with a letter or digit",
    );
  }
}

export class InvalidSchemaError extends EventStoreError {
  readonly status = 400;
  readonly code = "INVALID_SCHEMA";
}

export class TopicExistsError extends EventStoreError {
  readonly status = 400;
  readonly code = "TOPIC_EXISTS";
  constructor(topic: string) {
    super(`Topic '${topic}' already exists`);
  }
}

/** The spec answers 404 when a topic is addressed by path. */
export class TopicNotFoundError extends EventStoreError {
  readonly status = 404;
  readonly code = "TOPIC_NOT_FOUND";
  constructor(topic: string) {
    super(`Topic '${topic}' not found`);
  }
}

/** The spec answers 400 when a request body names a topic that does not exist. */
export class UnknownTopicError extends EventStoreError {
  readonly status = 400;
  readonly code = "TOPIC_NOT_FOUND";
  constructor(message: string) {
    super(message);
  }
}

export class UnknownEventTypeError extends EventStoreError {
  readonly status = 400;
  readonly code = "UNKNOWN_EVENT_TYPE";
}

export class SchemaValidationError extends EventStoreError {
  readonly status = 400;
  readonly code = "SCHEMA_VALIDATION_FAILED";
}

export class SchemaChangeError extends EventStoreError {
  readonly status = 400;
  readonly code = "SCHEMA_REMOVED";
}

export class SequenceConflictError extends EventStoreError {
  readonly status = 409;
  readonly code = "SEQUENCE_CONFLICT";
  constructor(topic: string, expectedSequence: number, currentSequence: number) {
    super(
      `Topic '${topic}' is at sequence ${currentSequence}, expected ${expectedSequence}`,
    );
    Object.assign(this.details, { topic, expectedSequence, currentSequence });
  }
}

export class IdempotencyKeyReusedError extends EventStoreError {
  readonly status = 409;
  readonly code = "IDEMPOTENCY_KEY_REUSED";
  constructor(key: string) {
    super(`Idempotency-Key '${key}' was already used for a different batch`);
  }
}

/** AUTH_TOKEN is set and the request carries no valid `Authorization: Bearer <token>`. */
export class UnauthorizedError extends EventStoreError {
  readonly status = 401;
  readonly code = "UNAUTHORIZED";
  constructor() {
    super("Missing or invalid bearer token");
    this.headers["www-authenticate"] = 'Bearer realm="event-store"';
  }
}

/** The client address used up its RATE_LIMIT_PER_MINUTE. */
export class RateLimitedError extends EventStoreError {
  readonly status = 429;
  readonly code = "RATE_LIMITED";
  constructor(retryAfterSeconds: number) {
    super(`Too many requests; retry after ${retryAfterSeconds} s`);
    this.headers["retry-after"] = String(retryAfterSeconds);
  }
}

export class RouteNotFoundError extends EventStoreError {
  readonly status = 404;
  readonly code = "NOT_FOUND";
  constructor() {
    super("Not found");
  }
}

/** Appending to the log failed (disk full, I/O error, failed fsync); nothing of the batch was kept. */
export class WriteFailedError extends EventStoreError {
  readonly status = 503;
  readonly code = "WRITE_FAILED";
  constructor(options?: ErrorOptions, message = "Failed to store events; nothing of the batch was written") {
    super(message, options);
  }
}

/** Stored data cannot be decoded where it must be valid (below the recovered tail). */
export class LogCorruptError extends EventStoreError {
  readonly status = 500;
  readonly code = "LOG_CORRUPT";
}

export class ShuttingDownError extends EventStoreError {
  readonly status = 503;
  readonly code = "SHUTTING_DOWN";
  constructor() {
    super("The server is shutting down");
  }
}

export class InternalError extends EventStoreError {
  readonly status = 500;
  readonly code = "INTERNAL_ERROR";
  constructor(options?: ErrorOptions) {
    super("Internal server error", options);
  }
}

export class ConsumerNotFoundError extends EventStoreError {
  readonly status = 404;
  readonly code = "CONSUMER_NOT_FOUND";
  /** `removal` tells a client why a consumer it knew is gone (max attempts, 410). */
  constructor(id: string, removal?: { removedAt: string; reason: string }) {
    super(removal ? `Consumer ${id} was removed at ${removal.removedAt}: ${removal.reason}` : `Consumer ${id} not found`);
    if (removal) Object.assign(this.details, { removedAt: removal.removedAt, reason: removal.reason });
  }
}

export class InvalidCallbackError extends EventStoreError {
  readonly status = 400;
  readonly code = "INVALID_CALLBACK";
}

export class InvalidConsumerTopicsError extends EventStoreError {
  readonly status = 400;
  readonly code = "INVALID_CONSUMER_TOPICS";
}

export class InvalidSecretError extends EventStoreError {
  readonly status = 400;
  readonly code = "INVALID_SECRET";
  constructor() {
    super("secret must be whsec_ followed by the base64 encoding of 24 to 64 bytes");
  }
}

/** Writing DATA_DIR/consumers.json failed; the change is not durable. */
export class ConsumersWriteFailedError extends EventStoreError {
  readonly status = 503;
  readonly code = "CONSUMERS_WRITE_FAILED";
  constructor(options?: ErrorOptions) {
    super("Failed to store the consumer registrations", options);
  }
}

/** DATA_DIR/consumers.json exists but cannot be decoded; start-up stops rather than forget consumers. */
export class ConsumersCorruptError extends EventStoreError {
  readonly status = 500;
  readonly code = "CONSUMERS_CORRUPT";
}

/** The app was built without a consumer service (only in tests of other routes). */
export class ConsumersUnavailableError extends EventStoreError {
  readonly status = 503;
  readonly code = "CONSUMERS_UNAVAILABLE";
  constructor() {
    super("Consumer delivery is not enabled on this server");
  }
}

/** @default 1 */
export const CLUSTER_RETRY_AFTER_SECONDS = 1;

/**
 * Cluster mode: JetStream did not confirm the batch (no quorum, no
 * responders, a timeout). Nothing was acknowledged; a retry under the same
 * Idempotency-Key is safe, since a batch stored after all is answered again.
 */
export class ClusterUnavailableError extends EventStoreError {
  readonly status = 503;
  readonly code = "CLUSTER_UNAVAILABLE";
  constructor(options?: ErrorOptions, retryAfterSeconds = CLUSTER_RETRY_AFTER_SECONDS) {
    super("JetStream did not answer in time (no quorum, or no server reachable); retry later (a publish with the same Idempotency-Key)", options);
    this.headers["retry-after"] = String(retryAfterSeconds);
  }
}

// Start-up failures: never an HTTP answer, so no code; `main.ts` prints their message and exits.

/** A setting's value is invalid; the message names the setting. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Another live server holds this directory; two writers would interleave its files. */
export class DataDirLockedError extends Error {
  override name = "DataDirLockedError";
}

/** A configured directory cannot be created or written; the message names the setting and the OS reason. */
export class DirectoryNotWritableError extends Error {
  override name = "DirectoryNotWritableError";
}

/** A delivery refused by CALLBACK_ALLOW_PRIVATE=false; counts as a failed attempt, never answered over HTTP. */
export class CallbackRefusedError extends Error {
  override name = "CallbackRefusedError";
}
