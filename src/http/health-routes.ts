import { Elysia, t } from "elysia";

/** What /health reports about delivery; the consumers module provides it. */
export interface DeliveryStatus {
  consumerCount(): number;
  runningDispatchers(): string[];
}

export const NO_DELIVERY: DeliveryStatus = { consumerCount: () => 0, runningDispatchers: () => [] };

export function healthRoutes(delivery: DeliveryStatus) {
  return new Elysia({ name: "health-routes" }).get(
    "/health",
    () => ({ status: "healthy" as const, consumers: delivery.consumerCount(), runningDispatchers: delivery.runningDispatchers() }),
    {
      response: {
        200: t.Object(
          {
            status: t.Literal("healthy"),
            consumers: t.Number({ description: "Registered consumers" }),
            runningDispatchers: t.Array(t.String(), { description: "Topics whose delivery loop is running" }),
          },
          {
            description: "The store is open and serving",
            examples: [{ status: "healthy", consumers: 2, runningDispatchers: ["user-events"] }],
          },
        ),
      },
      detail: { tags: ["Health"], summary: "Health check", description: "Answers 200 once the store is open and serving." },
    },
  );
}
