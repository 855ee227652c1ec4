import { Elysia } from "elysia";
import type { StoreMetrics } from "../metrics/store-metrics.ts";

/** `GET /metrics`: the Prometheus exposition (text format 0.0.4). */
export function metricsRoutes(metrics: StoreMetrics) {
  return new Elysia({ name: "metrics-routes" }).get(
    "/metrics",
    async () => new Response(await metrics.scrape(), { headers: { "content-type": metrics.contentType } }),
    {
      detail: {
        tags: ["Health"],
        summary: "Prometheus metrics",
        description:
          "Requests, appends and group commits, topic heads, per consumer and topic cursor, lag (events and seconds), deliveries and state, idempotency keys, process metrics. Needs the token when AUTH_TOKEN is set, unless METRICS_PUBLIC=true.",
        responses: { 200: { description: "Prometheus text format", content: { "text/plain": { schema: { type: "string" } } } } },
      },
    },
  );
}
