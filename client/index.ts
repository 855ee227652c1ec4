/**
 * Client library of the Event Store: `EventStoreClient`, its errors and
 * webhook verification. No dependencies, and nothing here imports one: it
 * runs on Bun, Node (22 and 24; 18 and 20 work), Deno and in browsers. The
 * Eden typed client is the separate `/typed` entry (`typed.ts`).
 *
 * @module
 */
export {
  EventStoreClient,
  DEFAULT_MAX_WAIT_TIME_MS,
  DEFAULT_SERVER_POLL_INTERVAL_MS,
  HEALTH_PROBE_TIMEOUT_MS,
} from "./event-store-client.ts";
export type {
  PublishEventOptions,
  PublishEventsItem,
  PublishEventsOptions,
  WaitForServerOptions,
} from "./event-store-client.ts";
export {
  BASE_URL_ENV_VAR,
  DEFAULT_RETRIES,
  DEFAULT_RETRY_DELAY_MS,
  DEFAULT_TIMEOUT_MS,
  MAX_RETRY_DELAY_MS,
} from "./config.ts";
export { backoffDelay } from "./backoff.ts";
export {
  DEFAULT_LONG_POLL_WAIT_MS,
  DEFAULT_STREAM_PAGE_SIZE,
  DEFAULT_STREAM_POLL_INTERVAL_MS,
} from "./event-stream.ts";
export type { StreamEventsOptions } from "./event-stream.ts";
export { EventStoreError, WebhookVerificationError } from "./errors.ts";
export { MIN_RETRY_AFTER_JITTER_MS, RETRY_AFTER_JITTER, parseRetryAfter, retryAfterDelay } from "./retry-after.ts";
export type { EventStoreErrorOptions, WebhookVerificationErrorCode } from "./errors.ts";
export { DEFAULT_WEBHOOK_TOLERANCE_SECONDS, signWebhook, verifyWebhook } from "./webhook.ts";
export type { VerifyWebhookOptions, WebhookHeaders } from "./webhook.ts";
export type {
  ClusterHealth,
  ConsumerDetails,
  ConsumerRegistration,
  ConsumerStatus,
  ConsumerSummary,
  Event,
  EventStoreConfig,
  FetchFn,
  GetEventsOptions,
  Health,
  PublishEventInput,
  RegisteredConsumer,
  Schema,
  TopicDetails,
  TopicProgress,
} from "./types.ts";
