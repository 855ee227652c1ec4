import { Elysia, t } from "elysia";
import type { ClusterView } from "../store/backend.ts";

/** What /health reports about delivery; the consumers module provides it. */
export interface DeliveryStatus {
  consumerCount(): number;
  runningDispatchers(): string[];
}

export const NO_DELIVERY: DeliveryStatus = { consumerCount: () => 0, runningDispatchers: () => [] };

export interface HealthSources {
  delivery: DeliveryStatus;
  /** Cluster mode only: this node's id (NODE_ID) and JetStream as it sees it. */
  cluster?: { nodeId: string; view: () => Promise<ClusterView> };
}

const ReplicaModel = t.Object({
  name: t.String({ description: "The nats-server's name" }),
  current: t.Boolean({ description: "Caught up with the leader" }),
  lag: t.Number({ description: "Operations behind the leader" }),
});

const ClusterModel = t.Object(
  {
    reachable: t.Boolean({ description: "JetStream answered this node just now" }),
    stream: t.Union([
      t.Object({
        name: t.String({ description: "The event stream" }),
        leader: t.Union([t.String(), t.Null()], { description: "The nats-server leading it; null while it has no quorum" }),
        replicas: t.Array(ReplicaModel, { description: "The other replicas" }),
      }),
      t.Null(),
    ]),
  },
  { description: "Cluster mode: JetStream as this node sees it" },
);

const HealthModel = t.Object({
  status: t.Union([t.Literal("healthy"), t.Literal("unavailable")], { description: "`unavailable` (with 503): in cluster mode, JetStream is unreachable or the stream has no leader" }),
  consumers: t.Number({ description: "Registered consumers" }),
  runningDispatchers: t.Array(t.String(), { description: "Topics whose delivery loop runs on this node" }),
  node: t.Optional(t.String({ description: "Cluster mode: this node's id (NODE_ID)" })),
  cluster: t.Optional(ClusterModel),
});

/**
 * `GET /health`: the spec's `{status, consumers, runningDispatchers}`. In
 * cluster mode it adds the node's id and its view of JetStream, and answers
 * 503 `unavailable` while JetStream is unreachable from this node or the
 * event stream has no leader, so a load balancer sends requests elsewhere
 * (a node cut off by a partition, say).
 */
export function healthRoutes(sources: HealthSources) {
  const { delivery, cluster } = sources;
  return new Elysia({ name: "health-routes" }).get(
    "/health",
    async ({ set }) => {
      const counts = { consumers: delivery.consumerCount(), runningDispatchers: delivery.runningDispatchers() };
      if (cluster === undefined) return { status: "healthy" as const, ...counts };
      const view = await cluster.view();
      const node = { node: cluster.nodeId, cluster: view };
      if (view.reachable && view.stream?.leader != null) return { status: "healthy" as const, ...counts, ...node };
      set.status = 503;
      set.headers["retry-after"] = "1";
      const error = view.reachable ? "The event stream has no leader: JetStream has no quorum" : "JetStream is unreachable from this node";
      return { error, code: "CLUSTER_UNAVAILABLE" as const, status: "unavailable" as const, ...counts, ...node };
    },
    {
      response: {
        200: t.Composite([HealthModel], {
          description: "The store is open and serving",
          examples: [
            { status: "healthy", consumers: 2, runningDispatchers: ["user-events"] },
            {
              status: "healthy",
              consumers: 2,
              runningDispatchers: ["user-events"],
              node: "store-1:8000",
              cluster: { reachable: true, stream: { name: "event_store_events", leader: "n1", replicas: [{ name: "n2", current: true, lag: 0 }, { name: "n3", current: true, lag: 0 }] } },
            },
          ],
        }),
        503: t.Composite([t.Object({ error: t.String(), code: t.Literal("CLUSTER_UNAVAILABLE") }), HealthModel], {
          description: "Cluster mode: this node cannot reach a JetStream quorum (with Retry-After)",
          examples: [
            {
              error: "JetStream is unreachable from this node",
              code: "CLUSTER_UNAVAILABLE",
              status: "unavailable",
              consumers: 2,
              runningDispatchers: [],
              node: "store-1:8000",
              cluster: { reachable: false, stream: null },
            },
          ],
        }),
      },
      detail: { tags: ["Health"], summary: "Health check", description: "Answers 200 once the store is open and serving; in cluster mode 503 while this node cannot reach a JetStream quorum." },
    },
  );
}
