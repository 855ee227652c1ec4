import { Elysia } from "elysia";

/** Label of requests no route matched, so unknown paths do not each become a series. */
export const UNMATCHED_ROUTE = "(unmatched)";

export type ObserveRequest = (method: string, route: string, status: number, seconds: number) => void;

/**
 * Times every request from its arrival to its response and reports it with
 * the matched route pattern (`/topics/:topic`, not the path) and the status
 * sent. A refused request (401, 429) or an unknown path counts too. One
 * clock read at each end and one map lookup: nothing per event.
 */
export function requestMetrics(observe: ObserveRequest) {
  const started = new WeakMap<Request, number>();
  return new Elysia({ name: "request-metrics" })
    .onRequest(({ request }) => {
      started.set(request, performance.now());
    })
    .onAfterResponse({ as: "global" }, (context) => {
      const { request, route, set } = context;
      const start = started.get(request);
      if (start === undefined) return;
      // A handler that returns a Response (the publish route does) sets its status there, not in `set`.
      const value = (context as { responseValue?: unknown }).responseValue;
      const status = value instanceof Response ? value.status : typeof set.status === "number" ? set.status : 200;
      observe(request.method, route || UNMATCHED_ROUTE, status, (performance.now() - start) / 1000);
    });
}
