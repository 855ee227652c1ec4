import { swagger } from "@elysiajs/swagger";
import { Elysia } from "elysia";
import type { Consumers } from "./consumers/consumer-model.ts";
import type { EventLog } from "./log/event-log.ts";
import { NO_CONSUMERS, consumerRoutes } from "./http/consumer-routes.ts";
import { toErrorResponse } from "./http/error-response.ts";
import { eventRoutes } from "./http/event-routes.ts";
import { type DeliveryStatus, NO_DELIVERY, healthRoutes } from "./http/health-routes.ts";
import { jsonBody } from "./http/json-body.ts";
import { topicRoutes } from "./http/topic-routes.ts";
import type { TopicRegistry } from "./topics/topic-registry.ts";
import { VERSION } from "./version.ts";

export interface AppDeps {
  registry: TopicRegistry;
  log: EventLog;
  delivery?: DeliveryStatus;
  /** Consumer registrations and webhook delivery; usually also passed as `delivery`. */
  consumers?: Consumers;
  maxBodyBytes: number;
  maxBatchEvents: number;
  maxPageSize: number;
  /** Aborted when the server begins to shut down. */
  shutdownSignal?: AbortSignal;
  /** Where unexpected errors are reported. @default console.error */
  reportError?: (error: unknown) => void;
}

/** Builds the HTTP application. It never listens; `server.ts` does. */
export function createApp(deps: AppDeps) {
  const reportError = deps.reportError ?? ((error: unknown) => console.error("unexpected error:", error));
  return new Elysia()
    .onError(({ code, error }) => toErrorResponse(code, error, reportError))
    .use(
      swagger({
        path: "/swagger",
        documentation: {
          info: {
            title: "Event Store",
            version: VERSION,
            description:
              "Topics with JSON Schemas, a durable append-only log, and webhook delivery. Every error is `{\"error\": message, \"code\": CODE}`.",
          },
          tags: [
            { name: "Topics", description: "Create topics and manage their schemas" },
            { name: "Events", description: "Publish and read events" },
            { name: "Consumers", description: "Webhook consumers: registration, delivery state, resume" },
            { name: "Health", description: "Liveness" },
          ],
        },
      }),
    )
    .use(jsonBody(deps.maxBodyBytes))
    .use(healthRoutes(deps.delivery ?? NO_DELIVERY))
    .use(topicRoutes(deps))
    .use(eventRoutes(deps))
    .use(consumerRoutes(deps.consumers ?? NO_CONSUMERS));
}

/** The app's type, for the Eden typed client (`import type` only). */
export type App = ReturnType<typeof createApp>;
