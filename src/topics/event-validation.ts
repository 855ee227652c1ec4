import { InvalidRequestError, SchemaValidationError, UnknownEventTypeError, UnknownTopicError } from "../errors.ts";
import type { AppendEvent } from "../store/event-log.ts";
import type { TopicRegistry } from "./topic-registry.ts";

export interface PublishInput {
  topic: unknown;
  type: unknown;
  payload: unknown;
  expectedSequence?: unknown;
}

/**
 * Checks a whole batch before anything is written: shape, topic, event type
 * and schema of every event. The first failure refuses the batch, naming the
 * event by its position.
 */
export function validateBatch(registry: TopicRegistry, body: unknown, maxBatchEvents: number): AppendEvent[] {
  if (!Array.isArray(body) || body.length === 0) {
    throw new InvalidRequestError("Request body must be a non-empty array of events: [{topic, type, payload}]");
  }
  if (body.length > maxBatchEvents) {
    throw new InvalidRequestError(`A batch holds at most ${maxBatchEvents} events, got ${body.length}`, "BATCH_TOO_LARGE");
  }
  return body.map((item, i) => validateEvent(registry, item as PublishInput, i));
}

function validateEvent(registry: TopicRegistry, item: PublishInput, i: number): AppendEvent {
  if (!isPlainObject(item)) throw new InvalidRequestError(`${at(i)} must be an object with topic, type and payload`);
  const { topic, type, payload, expectedSequence } = item;
  if (typeof topic !== "string" || topic === "") throw new InvalidRequestError(`${at(i)}.topic must be a non-empty string`);
  if (typeof type !== "string" || type === "") throw new InvalidRequestError(`${at(i)}.type must be a non-empty string`);
  if (!isPlainObject(payload)) throw new InvalidRequestError(`${at(i)}.payload must be a JSON object`);
  if (expectedSequence !== undefined && !(Number.isSafeInteger(expectedSequence) && (expectedSequence as number) >= 0)) {
    throw new InvalidRequestError(`${at(i)}.expectedSequence must be an integer >= 0`);
  }
  const registered = registry.get(topic);
  if (registered === undefined) throw new UnknownTopicError(`${at(i)}: Topic '${topic}' does not exist`);
  const validate = registered.validators.get(type);
  if (validate === undefined) {
    throw new UnknownEventTypeError(`${at(i)}: Topic '${topic}' has no schema for event type '${type}'`);
  }
  let failure: string | null;
  let payloadJson: string;
  try {
    failure = validate(payload);
    payloadJson = JSON.stringify(payload);
  } catch (error) {
    // Only nesting deep enough to exhaust the stack makes these throw.
    throw new InvalidRequestError(`${at(i)}.payload is nested too deeply`, "PAYLOAD_TOO_DEEP", { cause: error });
  }
  if (failure !== null) throw new SchemaValidationError(`${at(i)}: Schema validation failed for '${type}': ${failure}`);
  const event: AppendEvent = { topic, type, payloadJson };
  if (expectedSequence !== undefined) event.expectedSequence = expectedSequence as number;
  return event;
}

/** An event's place in the batch, for messages; built only on failure, as valid events are the hot path. */
function at(i: number): string {
  return `events[${i}]`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
