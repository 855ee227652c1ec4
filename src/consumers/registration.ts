import { InvalidCallbackError, InvalidConsumerTopicsError, InvalidSecretError, UnknownTopicError } from "../errors.ts";
import { parseEventId } from "../events/event-id.ts";
import type { ConsumerRegistration } from "./consumer-model.ts";
import { generateSecret, secretKey } from "./webhook-signer.ts";

/** Longest accepted callback URL. @default 2048 */
export const MAX_CALLBACK_LENGTH = 2048;

export interface TopicLookup {
  exists(topic: string): boolean;
  head(topic: string): number;
}

export interface ValidRegistration {
  callback: string;
  /** Topic → sequence already processed (0 = deliver everything). */
  cursors: Record<string, number>;
  secret: string;
}

/** Checks a registration completely before anything is stored; throws the first problem as a 400. */
export function validateRegistration(input: ConsumerRegistration, topics: TopicLookup): ValidRegistration {
  return { callback: validCallback(input.callback), cursors: validCursors(input.topics, topics), secret: validSecret(input.secret) };
}

function validCallback(callback: unknown): string {
  const problem = "callback must be an absolute http or https URL";
  if (typeof callback !== "string" || !URL.canParse(callback)) throw new InvalidCallbackError(problem);
  if (callback.length > MAX_CALLBACK_LENGTH) throw new InvalidCallbackError(`callback must be at most ${MAX_CALLBACK_LENGTH} characters`);
  const url = new URL(callback);
  if ((url.protocol !== "http:" && url.protocol !== "https:") || url.hostname === "") throw new InvalidCallbackError(problem);
  return callback;
}

/** Throws unless `topics` is a non-empty plain object. */
export function assertTopicsObject(topics: unknown): asserts topics is Record<string, unknown> {
  if (typeof topics !== "object" || topics === null || Array.isArray(topics) || Object.keys(topics).length === 0) {
    throw new InvalidConsumerTopicsError("topics must be a non-empty object: topic name → null (all events) or the id of the last event already processed");
  }
}

function validCursors(input: unknown, topics: TopicLookup): Record<string, number> {
  assertTopicsObject(input);
  const cursors: Record<string, number> = {};
  for (const [topic, value] of Object.entries(input)) {
    if (!topics.exists(topic)) throw new UnknownTopicError(`Topic '${topic}' not found`);
    cursors[topic] = cursorOf(topic, value, topics.head(topic));
  }
  return cursors;
}

function cursorOf(topic: string, value: unknown, head: number): number {
  if (value === null) return 0;
  const parsed = typeof value === "string" ? parseEventId(value) : null;
  if (parsed === null || parsed.topic !== topic) {
    throw new InvalidConsumerTopicsError(`topics['${topic}'] must be null or an event id of topic '${topic}', like '${topic}-1'`);
  }
  if (parsed.sequence < 1 || parsed.sequence > head) {
    const range = head === 0 ? `topic '${topic}' has no events yet; use null` : `its ids run from ${topic}-1 to ${topic}-${head}`;
    throw new InvalidConsumerTopicsError(`topics['${topic}']: '${value as string}' is not an event of topic '${topic}': ${range}`);
  }
  return parsed.sequence;
}

function validSecret(secret: unknown): string {
  if (secret === undefined) return generateSecret();
  if (typeof secret !== "string" || secretKey(secret) === null) throw new InvalidSecretError();
  return secret;
}
