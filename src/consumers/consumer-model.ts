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
}

/** What the HTTP layer needs from the consumers module. */
export interface Consumers {
  register(registration: ConsumerRegistration): Promise<RegisteredConsumer>;
  list(): ConsumerSummary[];
  /** @throws ConsumerNotFoundError */
  get(id: string): Promise<ConsumerDetails>;
  /** @throws ConsumerNotFoundError */
  unregister(id: string): Promise<void>;
  /** Makes a paused (or retrying) consumer active and retries from its cursor now. @throws ConsumerNotFoundError */
  resume(id: string): Promise<void>;
}
