/** Public shapes of consumers, as the HTTP API shows them. */

export type ConsumerStatus = "active" | "retrying" | "paused";

/** Body of `POST /consumers/register`. */
export interface ConsumerRegistration {
  callback: string;
  /** Topic → id of the last event already processed, or null for all events. */
  topics: Record<string, string | null>;
  /** `whsec_<base64 of 24–64 bytes>`; generated when absent. */
  secret?: string;
}

export interface RegisteredConsumer {
  consumerId: string;
  secret: string;
}

export interface ConsumerSummary {
  id: string;
  callback: string;
  /** Topic → id of the last event delivered, else the registered value. */
  topics: Record<string, string | null>;
}

/** How far one consumer is behind on one topic. */
export interface TopicProgress {
  /** Sequence of the topic's last event (0: none yet). */
  head: number;
  /** Sequence of the last event delivered, else the registered one (0: none). */
  cursor: number;
  /** Events not yet delivered: `head - cursor`. */
  lag: number;
  /** When the oldest undelivered event was stored, ISO 8601; null when nothing is pending. */
  oldestPendingAt: string | null;
  /** Lag in time: seconds since `oldestPendingAt`; 0 when nothing is pending. */
  lagSeconds: number;
}

export interface ConsumerDetails extends ConsumerSummary {
  status: ConsumerStatus;
  /** Topic → events not yet delivered. */
  lag: Record<string, number>;
  /** Consecutive failed deliveries (the highest of its topics). */
  attempts: number;
  /** The most recent delivery failure, e.g. "HTTP 500" or "timeout after 30000 ms". */
  lastError: string | null;
  /** ISO 8601 time of the next retry while retrying. */
  nextAttemptAt: string | null;
  /** Topic → head, cursor, lag and the age of the oldest pending event. */
  progress: Record<string, TopicProgress>;
  /** The node delivering it (its NODE_ID); null while none holds its lease (cluster mode, during a takeover). */
  dispatcher: string | null;
}

/** What the HTTP layer needs from the consumers module. */
export interface Consumers {
  register(registration: ConsumerRegistration): Promise<RegisteredConsumer>;
  /** Every consumer with its delivery state, in registration order. */
  list(): Promise<ConsumerDetails[]>;
  /** @throws ConsumerNotFoundError */
  get(id: string): Promise<ConsumerDetails>;
  /** @throws ConsumerNotFoundError */
  unregister(id: string): Promise<void>;
  /** Makes a paused (or retrying) consumer active and retries from its cursor now. @throws ConsumerNotFoundError */
  resume(id: string): Promise<void>;
}
