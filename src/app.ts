import { Elysia } from "elysia";
import type { Consumers } from "./consumers/consumer-model.ts";
import type { StoreMetrics } from "./metrics/store-metrics.ts";
import type { EventLog } from "./store/event-log.ts";
import { adminPage, isAdminAsset } from "./http/admin.ts";
import { bearerAuth } from "./http/auth.ts";
import { NO_CONSUMERS, consumerRoutes } from "./http/consumer-routes.ts";
import { corsPolicy } from "./http/cors.ts";
import { apiDocs } from "./http/docs.ts";
import { toErrorResponse } from "./http/error-response.ts";
import { eventRoutes } from "./http/event-routes.ts";
import { type DeliveryStatus, NO_DELIVERY, healthRoutes } from "./http/health-routes.ts";
import type { ClusterView } from "./store/backend.ts";
import { jsonBody } from "./http/json-body.ts";
import { metricsRoutes } from "./http/metrics-routes.ts";
import { requestPath } from "./http/request-path.ts";
import { requestMetrics } from "./http/request-metrics.ts";
import { rateLimit } from "./http/rate-limit.ts";
import { topicRoutes } from "./http/topic-routes.ts";
import type { TopicRegistry } from "./topics/topic-registry.ts";
import { VERSION } from "./version.ts";

export interface AppDeps {
  registry: TopicRegistry;
  log: EventLog;
  delivery?: DeliveryStatus;
  /** Cluster mode: this node's id and JetStream as `GET /health` shows them. */
  cluster?: { nodeId: string; view: () => Promise<ClusterView> };
  /** Consumer registrations and webhook delivery; usually also passed as `delivery`. */
  consumers?: Consumers;
  maxBodyBytes: number;
  /** Deepest JSON body accepted; deeper: 400 NESTING_TOO_DEEP. */
  maxJsonDepth: number;
  /** Time for a request body to arrive; later: 408. */
  bodyTimeoutMs: number;
  maxBatchEvents: number;
  maxPageSize: number;
  /** Bearer tokens required on every route but `GET /health`; empty or absent: no authentication. */
  authTokens?: readonly string[];
  /** Origins allowed by CORS (`*` for any); empty or absent: no CORS headers. */
  corsOrigins?: readonly string[];
  /** Requests per minute per client address; 0 or absent: no limit. */
  rateLimitPerMinute?: number;
  /** The peer address of a request, for the rate limit. @default none: every request counts as "local" */
  clientAddress?: (request: Request) => string | undefined;
  /** Aborted when the server begins to shut down. */
  shutdownSignal?: AbortSignal;
  /** Where unexpected errors are reported. @default console.error */
  reportError?: (error: unknown) => void;
  /** Serves `GET /metrics` and counts every request; absent: no metrics. */
  metrics?: StoreMetrics;
  /** `GET /metrics` without a token even when `authTokens` are set. @default false */
  metricsPublic?: boolean;
}

/** Builds the HTTP application. It never listens; `server.ts` does. */
export function createApp(deps: AppDeps) {
  const reportError = deps.reportError ?? ((error: unknown) => console.error("unexpected error:", error));
  const metrics = deps.metrics;
  const isPublic = (request: Request) =>
    isAdminAsset(request) || (deps.metricsPublic === true && request.method === "GET" && requestPath(request.url) === "/metrics");
  const requests = metrics ? requestMetrics((method, route, status, seconds) => metrics.observeRequest(method, route, status, seconds)) : null;
  return new Elysia()
    // Destructured, not passed on whole (see request-metrics.ts): what a hook reads is prepared for every request.
    .onError(({ code, error, set, request, route }) => {
      const response = toErrorResponse(code, error, reportError);
      set.status = response.status;
      requests?.failed({ request, route }, response.status);
      return response;
    })
    // First, so every request is counted and timed, refused ones too (a CORS preflight, answered before any route, is not).
    .use(requests?.plugin ?? new Elysia({ name: "request-metrics" }))
    // First: a preflight never carries the token, and a 401/429 must still be readable by the page.
    .use(corsPolicy(deps.corsOrigins ?? []))
    // Before everything else, docs included: a refused request is neither routed nor parsed.
    .use(rateLimit(deps.rateLimitPerMinute ?? 0, deps.clientAddress ? { clientAddress: deps.clientAddress } : {}))
    .use(bearerAuth(deps.authTokens ?? [], { isPublic }))
    .use(apiDocs({ version: VERSION }))
    .use(adminPage())
    .use(jsonBody({ maxBodyBytes: deps.maxBodyBytes, maxJsonDepth: deps.maxJsonDepth, bodyTimeoutMs: deps.bodyTimeoutMs }))
    .use(healthRoutes({ delivery: deps.delivery ?? NO_DELIVERY, ...(deps.cluster ? { cluster: deps.cluster } : {}) }))
    .use(topicRoutes(deps))
    .use(eventRoutes(deps))
    .use(consumerRoutes(deps.consumers ?? NO_CONSUMERS))
    .use(metrics ? metricsRoutes(metrics) : new Elysia({ name: "metrics-routes" }));
}

/** The app's type, for the Eden typed client (`import type` only). */
export type App = ReturnType<typeof createApp>;
