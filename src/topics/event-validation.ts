import { InvalidRequestError, SchemaValidationError, UnknownEventTypeError, UnknownTopicError } from "../errors.ts";
import { stringifyJson } from "../json/json-in-pieces.ts";
import type { AppendEvent } from "../store/event-log.ts";
import type { RemoteValidator } from "./schema-compiler.ts";
import type { TopicRegistry } from "./topic-registry.ts";

export interface PublishInput {
  topic: unknown;
  type: unknown;
  payload: unknown;
  expectedSequence?: unknown;
}

/**
 * Events checked between two turns of the event loop in a large batch:
 * about a millisecond of work, so a 10 000-event batch never holds up the
 * requests answered meanwhile for longer than its parse.
 */
export const VALIDATION_SLICE = 1000;

/** The topics a batch is checked against: the registry, or a batch's own view of it. */
type TopicLookup = Pick<TopicRegistry, "get">;

/**
 * Checks a whole batch before anything is written: shape, topic, event type
 * and schema of every event. The first failure refuses the batch, naming the
 * event by its position. Synchronous for batches of up to VALIDATION_SLICE
 * events whose validators all run here; a larger batch is checked in slices
 * with the event loop turning between them, and payloads whose validator is
 * kept on the schema worker (a very large schema) are checked there in one
 * round trip per validator.
 */
export function validateBatch(registry: TopicRegistry, body: unknown, maxBatchEvents: number): AppendEvent[] | Promise<AppendEvent[]> {
  if (!Array.isArray(body) || body.length === 0) {
    throw new InvalidRequestError("Request body must be a non-empty array of events: [{topic, type, payload}]");
  }
  if (body.length > maxBatchEvents) {
    throw new InvalidRequestError(`A batch holds at most ${maxBatchEvents} events, got ${body.length}`, "BATCH_TOO_LARGE");
  }
  if (body.length > VALIDATION_SLICE) return validateInSlices(registry, body);
  const events = new Array<AppendEvent>(body.length);
  let remote: RemoteChecks | null = null;
  const defer = (validator: RemoteValidator, payloadJson: string, i: number, type: string) => (remote ??= new RemoteChecks()).add(validator, payloadJson, i, type);
  for (let i = 0; i < body.length; i++) {
    try {
      events[i] = validateEvent(registry, body[i] as PublishInput, i, defer);
    } catch (error) {
      // An earlier event may fail on the worker: that failure is the one to answer.
      if (remote === null) throw error;
      return (remote as RemoteChecks).settle().then(() => Promise.reject(error));
    }
  }
  return remote === null ? events : (remote as RemoteChecks).settle().then(() => events);
}

async function validateInSlices(registry: TopicRegistry, body: unknown[]): Promise<AppendEvent[]> {
  // Every slice sees each topic as the first one did, though a topic may change between turns.
  const seen = new Map<string, ReturnType<TopicRegistry["get"]>>();
  const topics: TopicLookup = {
    get(name) {
      if (!seen.has(name)) seen.set(name, registry.get(name));
      return seen.get(name);
    },
  };
  const events = new Array<AppendEvent>(body.length);
  const remote = new RemoteChecks();
  const defer = remote.add.bind(remote);
  for (let start = 0; start < body.length; start += VALIDATION_SLICE) {
    // The first turn also comes before any checking: the parse of this body was the last piece of work.
    await new Promise((resolve) => setImmediate(resolve));
    const end = Math.min(start + VALIDATION_SLICE, body.length);
    for (let i = start; i < end; i++) {
      try {
        events[i] = validateEvent(topics, body[i] as PublishInput, i, defer);
      } catch (error) {
        await remote.settle();
        throw error;
      }
    }
  }
  await remote.settle();
  return events;
}

type DeferCheck = (validator: RemoteValidator, payloadJson: string, i: number, type: string) => void;

function validateEvent(registry: TopicLookup, item: PublishInput, i: number, defer: DeferCheck): AppendEvent {
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
  let failure: string | null = null;
  let payloadJson: string;
  try {
    if (typeof validate === "function") failure = validate(payload);
    payloadJson = stringifyJson(payload);
    if (typeof validate !== "function") defer(validate, payloadJson, i, type);
  } catch (error) {
    // Only nesting deep enough to exhaust the stack makes these throw.
    throw new InvalidRequestError(`${at(i)}.payload is nested too deeply`, "PAYLOAD_TOO_DEEP", { cause: error });
  }
  if (failure !== null) throw schemaFailure(i, type, failure);
  const event: AppendEvent = { topic, type, payloadJson };
  if (expectedSequence !== undefined) event.expectedSequence = expectedSequence as number;
  return event;
}

/** A batch's payloads whose validators are kept on the schema worker, grouped by validator. */
class RemoteChecks {
  private readonly groups = new Map<RemoteValidator, { payloadsJson: string[]; positions: number[]; types: string[] }>();

  add(validator: RemoteValidator, payloadJson: string, i: number, type: string): void {
    let group = this.groups.get(validator);
    if (group === undefined) {
      group = { payloadsJson: [], positions: [], types: [] };
      this.groups.set(validator, group);
    }
    group.payloadsJson.push(payloadJson);
    group.positions.push(i);
    group.types.push(type);
  }

  /** Resolves when every payload is valid; else rejects naming the first invalid one by position. */
  async settle(): Promise<void> {
    let first: { i: number; error: Error } | null = null;
    await Promise.all(
      [...this.groups].map(async ([validator, { payloadsJson, positions, types }]) => {
        let failures: (string | null)[];
        try {
          failures = await validator.checkAll(payloadsJson);
        } catch (error) {
          const i = positions[0]!;
          if (first === null || i < first.i) first = { i, error: new InvalidRequestError(`${at(i)}.payload is nested too deeply`, "PAYLOAD_TOO_DEEP", { cause: error }) };
          return;
        }
        failures.forEach((failure, n) => {
          const i = positions[n]!;
          if (failure !== null && (first === null || i < first.i)) first = { i, error: schemaFailure(i, types[n]!, failure) };
        });
      }),
    );
    if (first !== null) throw (first as { error: Error }).error;
  }
}

function schemaFailure(i: number, type: string, failure: string): SchemaValidationError {
  return new SchemaValidationError(`${at(i)}: Schema validation failed for '${type}': ${failure}`);
}

/** An event's place in the batch, for messages; built only on failure, as valid events are the hot path. */
function at(i: number): string {
  return `events[${i}]`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
