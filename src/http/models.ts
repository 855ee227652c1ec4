import { type Static, type TSchema, t } from "elysia";
import { TypeSystem } from "elysia/type-system";

/**
 * Request and response shapes. They drive request validation, the OpenAPI
 * document at /swagger/json and the types of the Eden client.
 */
/** The `user.created` schema the API documentation uses throughout. */
export const SCHEMA_EXAMPLE = {
  eventType: "user.created",
  $schema: "https://json-schema.org/draft/2020-12/schema",
  type: "object",
  properties: { id: { type: "string" }, name: { type: "string" } },
  required: ["id", "name"],
};

export const SchemaModel = t.Object(
  {
    eventType: t.String({ description: "The event type this schema validates", examples: ["user.created"] }),
    $schema: t.Optional(t.String({ description: "JSON Schema draft: 2020-12 (default) or draft-07" })),
  },
  {
    additionalProperties: true,
    description: "A JSON Schema for the payload of one event type, plus its `eventType`",
    examples: [SCHEMA_EXAMPLE],
  },
);

/** Schemas in requests are checked by the topic registry, which names the offending schema. */
export const SchemaInputModel = t.Unknown({
  description: "A JSON Schema for the payload of one event type, plus its `eventType`",
  examples: [SCHEMA_EXAMPLE],
});

export const EventModel = t.Object(
  {
    id: t.String({ description: "`<topic>-<sequence>`", examples: ["user-events-1"] }),
    timestamp: t.String({ description: "ISO 8601, UTC", examples: ["2025-01-15T10:30:00.000Z"] }),
    type: t.String({ examples: ["user.created"] }),
    payload: t.Record(t.String(), t.Unknown(), { description: "The event's JSON object" }),
  },
);

export const EventsModel = t.Object({ events: t.Array(EventModel) });

export const PublishItemModel = t.Object({
  topic: t.String({ examples: ["user-events"] }),
  type: t.String({ examples: ["user.created"] }),
  // Declared loosely: the publish path checks it is a JSON object and validates it
  // against the topic's schema, with messages that name the event.
  payload: t.Unknown({ description: "A JSON object valid against the schema of `type`", examples: [{ id: "123", name: "Alice" }] }),
  expectedSequence: t.Optional(
    t.Number({ description: "Refuse the batch unless the topic's sequence just before this event equals this" }),
  ),
});

/**
 * The publish body: documented and typed (for Eden) as an array of
 * PublishItemModel, but checked here only for being an array. The publish path
 * checks every event itself, with messages that name the event; a second,
 * per-event pass by the framework would only cost time on the hottest route.
 */
const PublishBatch = TypeSystem.Type<Static<typeof PublishItemModel>[]>("PublishBatch", (_options, value) => Array.isArray(value));

export function publishBatchModel(options: { examples: unknown[] }) {
  // The item schema sits inside `allOf` rather than as `type`/`items` at the top: the
  // framework's body normalizer copies every item of a top-level array schema into a
  // fresh object (and deletes absent optionals, which slows every later read of it);
  // under `allOf` it passes the body through. OpenAPI and Eden see the same array of items.
  return PublishBatch({ allOf: [t.Array(PublishItemModel)], ...options });
}

/**
 * An integer query parameter: documented (OpenAPI) and typed (Eden) as an
 * integer, but not coerced by the framework, whose numeric coercion costs
 * about 2 µs on every read: the route's `transform` checks the raw text and
 * converts it (see event-routes.ts), so the value is a number by validation.
 */
const QueryInteger = TypeSystem.Type<number>("QueryInteger", (_options, value) => typeof value === "number" && Number.isSafeInteger(value));

export function queryInteger(options: { minimum?: number; maximum?: number; description: string; examples: number[] }) {
  return QueryInteger({ type: "integer", ...options });
}

export const MessageModel = t.Object({ message: t.String() });

/** An error body as the examples of the OpenAPI document show it. */
export interface ErrorExample {
  error: string;
  code: string;
  [detail: string]: unknown;
}

/**
 * One error status of one route for the OpenAPI document: the `{"error", "code"}`
 * body, what the status means on that route, and example bodies (each named by
 * its `code` in the document).
 */
export function errorResponse(description: string, ...examples: ErrorExample[]) {
  return t.Object(
    {
      error: t.String({ description: "What went wrong, for people" }),
      code: t.String({ description: "Stable machine-readable code" }),
    },
    { additionalProperties: true, description, examples },
  );
}

/** `schema` with the description and examples the OpenAPI document shows for a response. */
export function documented<T extends TSchema>(schema: T, description: string, ...examples: Static<T>[]): T {
  return { ...schema, description, examples };
}

/** Example bodies shared by routes that take a JSON body. */
export const BODY_ERRORS = {
  malformed: { error: "Request body is not valid JSON", code: "MALFORMED_JSON" },
  tooLarge: { error: "Request body exceeds the limit of 1048576 bytes", code: "PAYLOAD_TOO_LARGE" },
} as const satisfies Record<string, ErrorExample>;

export const INVALID_TOPIC_NAME_EXAMPLE: ErrorExample = {
  error: "Invalid topic name: use 1-128 characters from A-Z a-z 0-9 . _ -, starting with a letter or digit",
  code: "INVALID_TOPIC_NAME",
};

export const TOPIC_NOT_FOUND_EXAMPLE: ErrorExample = { error: "Topic 'user-events' not found", code: "TOPIC_NOT_FOUND" };
