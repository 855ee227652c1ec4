import { Elysia, t } from "elysia";
import { InvalidRequestError } from "../errors.ts";
import type { EventLog } from "../log/event-log.ts";
import { assertTopicName } from "../topics/topic-name.ts";
import type { TopicRegistry } from "../topics/topic-registry.ts";
import { ErrorModel, MessageModel, SchemaInputModel, SchemaModel } from "./models.ts";

export interface TopicRoutesDeps {
  registry: TopicRegistry;
  log: EventLog;
}

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
      ({ body, set }) => {
        const { name, schemas } = (body ?? {}) as { name?: unknown; schemas?: unknown };
        if (name === undefined || !Array.isArray(schemas)) {
          throw new InvalidRequestError("Invalid request body. Required: name, schemas array");
        }
        assertTopicName(name);
        registry.create(name, schemas);
        set.status = 201;
        return { message: `Topic '${name}' created successfully` };
      },
      {
        body: t.Object({ name: t.String(), schemas: t.Array(SchemaInputModel) }),
        response: { 201: MessageModel, 400: ErrorModel },
        detail: {
          tags: ["Topics"],
          summary: "Create a topic",
          description:
            "Creates a topic with one JSON Schema per event type. Names: 1-128 characters from `A-Z a-z 0-9 . _ -`, starting with a letter or digit. Schemas use draft 2020-12 (default) or draft-07, chosen by `$schema`.",
        },
      },
    )
    .get("/topics", () => ({ topics: registry.names() }), {
      response: { 200: t.Object({ topics: t.Array(t.String()) }) },
      detail: { tags: ["Topics"], summary: "List topics", description: "Names of all topics, sorted." },
    })
    .get(
      "/topics/:topic",
      ({ params }) => {
        assertTopicName(params.topic);
        const { definition } = registry.require(params.topic);
        return { ...definition, sequence: log.head(params.topic) };
      },
      {
        params: t.Object({ topic: t.String() }),
        response: { 200: TopicDetailsModel, 400: ErrorModel, 404: ErrorModel },
        detail: { tags: ["Topics"], summary: "Get a topic", description: "The topic's schemas and its current sequence." },
      },
    )
    .put(
      "/topics/:topic",
      ({ params, body }) => {
        assertTopicName(params.topic);
        const { schemas } = (body ?? {}) as { schemas?: unknown };
        if (!Array.isArray(schemas)) throw new InvalidRequestError("Invalid request body. Required: schemas array");
        const definition = registry.replaceSchemas(params.topic, schemas);
        return { ...definition, sequence: log.head(params.topic) };
      },
      {
        params: t.Object({ topic: t.String() }),
        body: t.Object({ schemas: t.Array(SchemaInputModel) }),
        response: { 200: TopicDetailsModel, 400: ErrorModel, 404: ErrorModel },
        detail: {
          tags: ["Topics"],
          summary: "Replace a topic's schemas",
          description:
            "Replaces the schema set. Schemas may be added or changed, but every event type the topic already has must remain (else 400 SCHEMA_REMOVED). Stored events are not re-validated.",
        },
      },
    );
}
