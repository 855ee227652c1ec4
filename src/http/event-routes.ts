import { Elysia, t } from "elysia";
import { InvalidRequestError, UnknownEventTypeError, UnknownTopicError } from "../errors.ts";
import { batchHash } from "../events/batch-hash.ts";
import { parseEventId } from "../events/event-id.ts";
import { joinJsonLines } from "../events/json-array.ts";
import type { EventLog, ReadRange } from "../store/event-log.ts";
import { waitForEvents } from "../store/wait-for-events.ts";
import { validateBatch } from "../topics/event-validation.ts";
import { assertTopicName } from "../topics/topic-name.ts";
import type { TopicRegistry } from "../topics/topic-registry.ts";
import { BODY_ERRORS, EventsModel, queryInteger, INVALID_TOPIC_NAME_EXAMPLE, TOPIC_NOT_FOUND_EXAMPLE, documented, errorResponse, publishBatchModel } from "./models.ts";

/**
 * `validateBatch`; when a topic or event type is unknown here, the topics
 * are read again from a store other nodes share (cluster mode) and the
 * batch is checked once more. Costs nothing on the valid path.
 */
async function validateCurrent(registry: TopicRegistry, body: unknown, maxBatchEvents: number) {
  try {
    const events = validateBatch(registry, body, maxBatchEvents);
    // Awaited here only when it is a promise (large batches, worker-kept validators), so its refusals are caught too.
    return events instanceof Promise ? await events : events;
  } catch (error) {
    if (!(error instanceof UnknownTopicError || error instanceof UnknownEventTypeError)) throw error;
    const topics = (body as { topic?: unknown }[]).map((item) => item?.topic).filter((topic): topic is string => typeof topic === "string");
    // Checked again even when this refresh found nothing new: a watch of the store may have taken the change meanwhile.
    if (!(await registry.refresh(topics)) && !registry.shared) throw error;
    return validateBatch(registry, body, maxBatchEvents);
  }
}

/** Longest a read may wait for new events (`waitMs`). @default 60 000 */
export const MAX_WAIT_MS = 60_000;

export interface EventRoutesDeps {
  registry: TopicRegistry;
  log: EventLog;
  maxBatchEvents: number;
  maxPageSize: number;
  /** Aborted when the server shuts down, so long-polling reads answer at once. */
  shutdownSignal?: AbortSignal;
}

export function eventRoutes({ registry, log, maxBatchEvents, maxPageSize, shutdownSignal }: EventRoutesDeps) {
  return new Elysia({ name: "event-routes" })
    .post(
      "/events",
      // The header is read from the request, not declared as a `headers` schema: a declared one makes
      // the framework copy every request header into an object and clean it, on the busiest route
      // (about 6% of a 1-event publish in process). It is documented in `detail` instead.
      async ({ body, request }) => {
        const key = parseIdempotencyKey(request.headers.get("idempotency-key") ?? undefined);
        const events = await validateCurrent(registry, body, maxBatchEvents);
        if (key === undefined) return created({ eventIds: (await log.append(events)).ids });
        const { ids, replayed } = await log.append(events, { key, hash: batchHash(events) });
        return created({ eventIds: ids }, replayed ? REPLAYED : JSON_CONTENT);
      },
      {
        body: publishBatchModel({
          examples: [
            [
              { topic: "user-events", type: "user.created", payload: { id: "1", name: "Alice" } },
              { topic: "audit-events", type: "audit.logged", payload: { action: "signup", userId: "1" } },
            ],
          ],
        }),
        response: {
          201: documented(t.Object({ eventIds: t.Array(t.String()) }), "The batch is on disk; the ids of its events, in order", {
            eventIds: ["user-events-1", "audit-events-1"],
          }),
          400: errorResponse(
            "An event is invalid (the message names it) or the batch is empty or too long; nothing is stored",
            { error: "Request body must be a non-empty array of events: [{topic, type, payload}]", code: "INVALID_REQUEST" },
            { error: "events[0]: Topic 'user-events' does not exist", code: "TOPIC_NOT_FOUND" },
            { error: "events[0]: Topic 'user-events' has no schema for event type 'user.renamed'", code: "UNKNOWN_EVENT_TYPE" },
            {
              error: "events[1]: Schema validation failed for 'user.created': payload must have required property 'name'",
              code: "SCHEMA_VALIDATION_FAILED",
            },
            { error: "A batch holds at most 10000 events, got 10001", code: "BATCH_TOO_LARGE" },
            { error: "events[0].payload is nested too deeply", code: "PAYLOAD_TOO_DEEP" },
            { error: "Idempotency-Key must be 1-255 printable ASCII characters", code: "INVALID_IDEMPOTENCY_KEY" },
            BODY_ERRORS.malformed,
          ),
          409: errorResponse(
            "An `expectedSequence` does not match, or the Idempotency-Key was used for another batch; nothing is stored",
            {
              error: "Topic 'user-events' is at sequence 7, expected 5",
              code: "SEQUENCE_CONFLICT",
              topic: "user-events",
              expectedSequence: 5,
              currentSequence: 7,
            },
            { error: "Idempotency-Key 'order-42' was already used for a different batch", code: "IDEMPOTENCY_KEY_REUSED" },
          ),
          413: errorResponse("The body exceeds MAX_BODY_BYTES", BODY_ERRORS.tooLarge),
          503: errorResponse(
            "The batch could not be written (disk full, I/O error) or the server is stopping: nothing of it is stored. In cluster mode, `CLUSTER_UNAVAILABLE` (with `Retry-After`): JetStream did not confirm the batch in time; it may still have been stored, whole — retry with the same Idempotency-Key to get its ids either way",
            { error: "Failed to store events; nothing of the batch was written", code: "WRITE_FAILED" },
            { error: "The server is shutting down", code: "SHUTTING_DOWN" },
            { error: "JetStream did not answer in time (no quorum, or no server reachable); retry later (a publish with the same Idempotency-Key)", code: "CLUSTER_UNAVAILABLE" },
          ),
        },
        detail: {
          tags: ["Events"],
          summary: "Publish events",
          parameters: [
            {
              name: "idempotency-key",
              in: "header",
              required: false,
              schema: { type: "string", minLength: 1, maxLength: 255 },
              description: IDEMPOTENCY_KEY_DESCRIPTION,
            },
          ],
          description:
            "Stores a batch atomically, across topics: every event is validated against its topic's schema first, and the 201 is sent only once the batch is on disk. Ids are `<topic>-<sequence>`, dense per topic. An event with `expectedSequence` is stored only if its topic's sequence just before it equals that number (earlier events of the batch count), else 409 SEQUENCE_CONFLICT and nothing of the batch is stored.",
        },
      },
    )
    .get(
      "/topics/:topic/events",
      async (context) => {
        const { params, query, request } = context;
        assertTopicName(params.topic);
        if (registry.get(params.topic) === undefined) await registry.requireCurrent(params.topic);
        const { range, waitMs } = parseReadQuery(params.topic, query, maxPageSize, (context as unknown as InvalidNumbers)[INVALID_NUMBERS]);
        if (waitMs > 0) {
          const signal = shutdownSignal ? AbortSignal.any([request.signal, shutdownSignal]) : request.signal;
          await waitForEvents(log, params.topic, range.after, waitMs, signal);
        }
        const { events } = await log.read(params.topic, range);
        return new Response(eventsJson(events), { headers: { "content-type": "application/json" } });
      },
      {
        params: t.Object({ topic: t.String({ description: "The topic's name", examples: ["user-events"] }) }),
        query: t.Object({
          sinceEventId: t.Optional(t.String({ description: "Only events after this id (of this topic)", examples: ["user-events-1"] })),
          date: t.Optional(t.String({ description: "Only events stored on this UTC date, YYYY-MM-DD", examples: ["2025-01-15"] })),
          limit: t.Optional(queryInteger({ minimum: 1, description: `Most events to return (1-${maxPageSize}; larger values are capped)`, examples: [100] })),
          waitMs: t.Optional(
            queryInteger({ minimum: 0, maximum: MAX_WAIT_MS, description: `When no event follows sinceEventId yet, wait up to this many ms (max ${MAX_WAIT_MS}) for one`, examples: [30000] }),
          ),
        }),
        // Before validation: the raw text must be plain decimal digits in range, and is
        // converted here; a bad one is taken out and reported in the handler, after the
        // topic is checked, in the API's order.
        transform(context) {
          (context as unknown as InvalidNumbers)[INVALID_NUMBERS] = takeInvalidNumbers(context.query as Record<string, unknown>);
        },
        response: {
          200: documented(EventsModel, "The events after `sinceEventId` (all when absent), oldest first; an empty list when there are none", {
            events: [
              { id: "user-events-1", timestamp: "2025-01-15T10:30:00.000Z", type: "user.created", payload: { id: "1", name: "Alice" } },
              { id: "user-events-2", timestamp: "2025-01-15T10:30:02.000Z", type: "user.created", payload: { id: "2", name: "Bob" } },
            ],
          }),
          400: errorResponse(
            "A query parameter or the topic name is invalid",
            { error: "sinceEventId must be an event id: <topic>-<sequence>", code: "INVALID_EVENT_ID" },
            { error: "date must be a real date in YYYY-MM-DD format", code: "INVALID_DATE" },
            { error: "limit must be a positive integer", code: "INVALID_LIMIT" },
            { error: `waitMs must be an integer from 0 to ${MAX_WAIT_MS}`, code: "INVALID_WAIT" },
            INVALID_TOPIC_NAME_EXAMPLE,
          ),
          404: errorResponse("No topic has this name", TOPIC_NOT_FOUND_EXAMPLE),
        },
        detail: {
          tags: ["Events"],
          summary: "Read a topic's events",
          description: `Events in sequence order. Without \`limit\` a response holds at most ${maxPageSize} events; page on with \`sinceEventId\` = the last id received.`,
        },
      },
    );
}

const JSON_CONTENT = { "content-type": "application/json" };
const REPLAYED = { ...JSON_CONTENT, "idempotent-replayed": "true" };

/**
 * The 201 of a publish, serialized here rather than by the framework: its
 * response check would copy and walk every id of the batch (up to
 * MAX_BATCH_EVENTS) on the busiest route, to confirm an array of strings we
 * just made. Typed as the body, which is what the route declares and Eden sees.
 */
function created<T extends { eventIds: string[] }>(body: T, headers: Record<string, string> = JSON_CONTENT): T {
  return new Response(JSON.stringify(body), { status: 201, headers }) as unknown as T;
}

const IDEMPOTENCY_KEY = /^[\x20-\x7e]{1,255}$/;
const IDEMPOTENCY_KEY_DESCRIPTION =
  "1-255 printable ASCII characters. A retry with the same key and body stores nothing and answers the first ids, with `Idempotent-Replayed: true`; the same key with another body gets 409 IDEMPOTENCY_KEY_REUSED.";

function parseIdempotencyKey(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!IDEMPOTENCY_KEY.test(value)) {
    throw new InvalidRequestError("Idempotency-Key must be 1-255 printable ASCII characters", "INVALID_IDEMPOTENCY_KEY");
  }
  return value;
}

interface ReadQuery {
  sinceEventId?: string;
  date?: string;
  limit?: number;
  waitMs?: number;
}

const INVALID_NUMBERS = Symbol("invalid limit/waitMs");

/** Which numeric query parameters were sent as something other than plain decimal digits in range. */
interface InvalidNumbers {
  [INVALID_NUMBERS]?: { limit: boolean; waitMs: boolean };
}

function takeInvalidNumbers(query: Record<string, unknown>): { limit: boolean; waitMs: boolean } {
  const limit = query.limit !== undefined && !(typeof query.limit === "string" && /^[1-9]\d{0,15}$/.test(query.limit));
  const waitMs = query.waitMs !== undefined && !(typeof query.waitMs === "string" && /^\d{1,6}$/.test(query.waitMs) && Number(query.waitMs) <= MAX_WAIT_MS);
  if (limit) delete query.limit;
  else if (query.limit !== undefined) query.limit = Number(query.limit);
  if (waitMs) delete query.waitMs;
  else if (query.waitMs !== undefined) query.waitMs = Number(query.waitMs);
  return { limit, waitMs };
}

export function parseReadQuery(
  topic: string,
  query: ReadQuery,
  maxPageSize: number,
  invalid: { limit: boolean; waitMs: boolean } = { limit: false, waitMs: false },
): { range: ReadRange; waitMs: number } {
  let after = 0;
  if (query.sinceEventId !== undefined) {
    const parsed = parseEventId(query.sinceEventId);
    if (parsed === null) {
      throw new InvalidRequestError("sinceEventId must be an event id: <topic>-<sequence>", "INVALID_EVENT_ID");
    }
    if (parsed.topic !== topic) {
      throw new InvalidRequestError(`sinceEventId '${query.sinceEventId}' is not an id of topic '${topic}'`, "INVALID_EVENT_ID");
    }
    after = parsed.sequence;
  }
  if (invalid.limit) throw new InvalidRequestError("limit must be a positive integer", "INVALID_LIMIT");
  const limit = query.limit === undefined ? maxPageSize : Math.min(query.limit, maxPageSize);
  if (query.date !== undefined && !isCalendarDate(query.date)) {
    throw new InvalidRequestError("date must be a real date in YYYY-MM-DD format", "INVALID_DATE");
  }
  if (invalid.waitMs) throw new InvalidRequestError(`waitMs must be an integer from 0 to ${MAX_WAIT_MS}`, "INVALID_WAIT");
  const waitMs = query.waitMs ?? 0;
  if (query.date === undefined) return { range: { after, limit }, waitMs };
  // A date is the UTC day it names: events whose timestamp falls within it.
  const fromTime = Date.parse(`${query.date}T00:00:00.000Z`);
  return { range: { after, limit, fromTime, beforeTime: fromTime + DAY_MS }, waitMs };
}

const DAY_MS = 86_400_000;

export function isCalendarDate(value: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const date = new Date(`${value}T00:00:00.000Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(value);
}

/** `{"events":[…]}` from the stored lines, without parsing or re-serializing them. */
export function eventsJson(lines: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  return joinJsonLines('{"events":[', lines, "]}");
}
