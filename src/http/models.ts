import { t } from "elysia";

/**
 * Request and response shapes. They drive request validation, the OpenAPI
 * document at /swagger/json and the types of the Eden client.
 */
export const ErrorModel = t.Object(
  {
    error: t.String({ description: "What went wrong, for people" }),
    code: t.String({ description: "Stable machine-readable code, e.g. TOPIC_NOT_FOUND" }),
  },
  { additionalProperties: true, examples: [{ error: "Topic 'orders' not found", code: "TOPIC_NOT_FOUND" }] },
);

export const SchemaModel = t.Object(
  {
    eventType: t.String({ description: "The event type this schema validates", examples: ["user.created"] }),
    $schema: t.Optional(t.String({ description: "JSON Schema draft: 2020-12 (default) or draft-07" })),
  },
  {
    additionalProperties: true,
    description: "A JSON Schema for the payload of one event type, plus its `eventType`",
    examples: [
      {
        eventType: "user.created",
        $schema: "https://json-schema.org/draft/2020-12/schema",
        type: "object",
        properties: { id: { type: "string" }, name: { type: "string" } },
        required: ["id", "name"],
      },
    ],
  },
);

/** Schemas in requests are checked by the topic registry, which names the offending schema. */
export const SchemaInputModel = t.Unknown({
  description: "A JSON Schema for the payload of one event type, plus its `eventType`",
  examples: [
    {
      eventType: "user.created",
      $schema: "https://json-schema.org/draft/2020-12/schema",
      type: "object",
      properties: { id: { type: "string" }, name: { type: "string" } },
      required: ["id", "name"],
    },
  ],
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

export const MessageModel = t.Object({ message: t.String() });
