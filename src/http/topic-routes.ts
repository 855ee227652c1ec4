import { Elysia, t } from "elysia";
import { InvalidRequestError } from "../errors.ts";
import type { EventLog } from "../store/event-log.ts";
import { assertTopicName } from "../topics/topic-name.ts";
import type { TopicRegistry } from "../topics/topic-registry.ts";
import {
  BODY_ERRORS,
  INVALID_TOPIC_NAME_EXAMPLE,
  MessageModel,
  SCHEMA_EXAMPLE,
  SchemaInputModel,
  SchemaModel,
  TOPIC_NOT_FOUND_EXAMPLE,
  documented,
  errorResponse,
} from "./models.ts";

export interface TopicRoutesDeps {
  registry: TopicRegistry;
  log: EventLog;
}

const TopicParams = t.Object({
  topic: t.String({ description: "The topic's name", examples: ["user-events"] }),
});

const USER_CREATED = SCHEMA_EXAMPLE;
const USER_DELETED = { eventType: "user.deleted", type: "object", properties: { id: { type: "string" } }, required: ["id"] };

const TOPIC_EXAMPLE = {
  name: "user-events",
  sequence: 42,
  schemas: [USER_CREATED, USER_DELETED],
  createdAt: "2025-01-15T10:30:00.000Z",
  updatedAt: "2025-02-01T08:00:00.000Z",
};

const INVALID_SCHEMA_EXAMPLE = {
  error: 'schemas[0] (user.created): payloads are JSON objects, so "type" must be "object"',
  code: "INVALID_SCHEMA",
};
const WRITE_FAILED_EXAMPLE = { error: "Failed to store topic 'user-events'; it is unchanged", code: "WRITE_FAILED" };

const TopicDetailsModel = t.Object({
  name: t.String(),
  sequence: t.Number({ description: "Sequence of the topic's last event (0 when empty)" }),
  schemas: t.Array(SchemaModel),
  createdAt: t.Optional(t.String()),
  updatedAt: t.Optional(t.String()),
});

export function topicRoutes({ registry, log }: TopicRoutesDeps) {
  return new Elysia({ name: "topic-routes" })
    .post(
      "/topics",
      async ({ body, set }) => {
        const { name, schemas } = (body ?? {}) as { name?: unknown; schemas?: unknown };
        if (name === undefined || !Array.isArray(schemas)) {
          throw new InvalidRequestError("Invalid request body. Required: name, schemas array");
        }
        assertTopicName(name);
        await registry.create(name, schemas);
        set.status = 201;
        return { message: `Topic '${name}' created successfully` };
      },
      {
        body: t.Object(
          {
            name: t.String({ description: "1-128 characters from `A-Z a-z 0-9 . _ -`, starting with a letter or digit", examples: ["user-events"] }),
            schemas: t.Array(SchemaInputModel, { description: "One JSON Schema per event type" }),
          },
          { examples: [{ name: "user-events", schemas: [USER_CREATED] }] },
        ),
        response: {
          201: documented(MessageModel, "The topic is created and stored", { message: "Topic 'user-events' created successfully" }),
          400: errorResponse(
            "The body, the name or a schema is invalid, or the topic exists; nothing is created",
            { error: "Invalid request body. Required: name, schemas array", code: "INVALID_REQUEST" },
            INVALID_TOPIC_NAME_EXAMPLE,
            INVALID_SCHEMA_EXAMPLE,
            { error: "Topic 'user-events' already exists", code: "TOPIC_EXISTS" },
            BODY_ERRORS.malformed,
          ),
          413: errorResponse("The body exceeds MAX_BODY_BYTES", BODY_ERRORS.tooLarge),
          503: errorResponse("The topic file could not be written; nothing is created", WRITE_FAILED_EXAMPLE),
        },
        detail: {
          tags: ["Topics"],
          summary: "Create a topic",
          description:
            "Creates a topic with one JSON Schema per event type. Names: 1-128 characters from `A-Z a-z 0-9 . _ -`, starting with a letter or digit. Schemas use draft 2020-12 (default) or draft-07, chosen by `$schema`.",
        },
      },
    )
    .get("/topics", () => ({ topics: registry.names() }), {
      response: {
        200: documented(t.Object({ topics: t.Array(t.String()) }), "Every topic's name, sorted", { topics: ["audit-events", "user-events"] }),
      },
      detail: { tags: ["Topics"], summary: "List topics", description: "Names of all topics, sorted." },
    })
    .get(
      "/topics/:topic",
      async ({ params }) => {
        assertTopicName(params.topic);
        const { definition } = registry.get(params.topic) ?? (await registry.requireCurrent(params.topic));
        return { ...definition, sequence: await log.head(params.topic) };
      },
      {
        params: TopicParams,
        response: {
          200: documented(TopicDetailsModel, "The topic's schemas and the sequence of its last event", TOPIC_EXAMPLE),
          400: errorResponse("The name is not a valid topic name", INVALID_TOPIC_NAME_EXAMPLE),
          404: errorResponse("No topic has this name", TOPIC_NOT_FOUND_EXAMPLE),
        },
        detail: { tags: ["Topics"], summary: "Get a topic", description: "The topic's schemas and its current sequence." },
      },
    )
    .put(
      "/topics/:topic",
      async ({ params, body }) => {
        assertTopicName(params.topic);
        const { schemas } = (body ?? {}) as { schemas?: unknown };
        if (!Array.isArray(schemas)) throw new InvalidRequestError("Invalid request body. Required: schemas array");
        const definition = await registry.replaceSchemas(params.topic, schemas);
        return { ...definition, sequence: await log.head(params.topic) };
      },
      {
        params: TopicParams,
        body: t.Object(
          { schemas: t.Array(SchemaInputModel, { description: "The new schema set: every event type the topic has, and any new ones" }) },
          { examples: [{ schemas: [USER_CREATED, USER_DELETED] }] },
        ),
        response: {
          200: documented(TopicDetailsModel, "The schemas are replaced; the topic as it is now", TOPIC_EXAMPLE),
          400: errorResponse(
            "The body, the name or a schema is invalid, or an existing event type is missing; nothing changes",
            { error: "Invalid request body. Required: schemas array", code: "INVALID_REQUEST" },
            INVALID_TOPIC_NAME_EXAMPLE,
            INVALID_SCHEMA_EXAMPLE,
            { error: "Schemas may only be added or changed, not removed; missing event types: user.deleted", code: "SCHEMA_REMOVED" },
            BODY_ERRORS.malformed,
          ),
          404: errorResponse("No topic has this name", TOPIC_NOT_FOUND_EXAMPLE),
          413: errorResponse("The body exceeds MAX_BODY_BYTES", BODY_ERRORS.tooLarge),
          503: errorResponse("The topic file could not be written; nothing changes", WRITE_FAILED_EXAMPLE),
        },
        detail: {
          tags: ["Topics"],
          summary: "Replace a topic's schemas",
          description:
            "Replaces the schema set. Schemas may be added or changed, but every event type the topic already has must remain (else 400 SCHEMA_REMOVED). Stored events are not re-validated.",
        },
      },
    );
}
