import { describe, expect, test } from "bun:test";
import { RequestSeries } from "../src/metrics/request-series.ts";
import { parsePrometheusText } from "./prometheus.ts";

describe("RequestSeries", () => {
  test("counts by method, route and status, and buckets durations cumulatively, as the Prometheus parser reads them", () => {
    const series = new RequestSeries();
    for (const seconds of [0.0001, 0.0005, 0.0007, 0.003, 0.2, 75]) series.observe("POST", "/events", 201, seconds);
    series.observe("POST", "/events", 400, 0.002);
    series.observe("GET", 'odd "route" \\ with\nnewline', 404, 0.01);
    const families = parsePrometheusText(series.exposition());
    const requests = families.find((family) => family.name === "event_store_http_requests")!;
    expect(requests.type).toBe("counter");
    expect(requests.samples.map(({ labels, value }) => ({ labels, value }))).toEqual([
      { labels: { method: "POST", route: "/events", status: "201" }, value: 6 },
      { labels: { method: "POST", route: "/events", status: "400" }, value: 1 },
      { labels: { method: "GET", route: 'odd "route" \\ with\nnewline', status: "404" }, value: 1 },
    ]);
    const duration = families.find((family) => family.name === "event_store_http_request_duration_seconds")!;
    expect(duration.type).toBe("histogram");
    const of = (route: string) => duration.samples.filter((sample) => sample.labels.route === route && sample.labels.method !== "GET");
    const buckets = Object.fromEntries(of("/events").filter((s) => s.name.endsWith("_bucket")).map((s) => [s.labels.le, s.value]));
    // Upper bounds are inclusive: 0.0005 falls in le="0.0005".
    expect(buckets).toMatchObject({ "0.0005": 2, "0.001": 3, "0.0025": 4, "0.005": 5, "0.1": 5, "0.25": 6, "60": 6, "+Inf": 7 });
    expect(of("/events").find((s) => s.name.endsWith("_count"))!.value).toBe(7);
    expect(of("/events").find((s) => s.name.endsWith("_sum"))!.value).toBeCloseTo(75.2063, 10);
  });

  test("no requests yet: both families, no samples", () => {
    const families = parsePrometheusText(new RequestSeries().exposition());
    expect(families.map(({ name, type, samples }) => ({ name, type, samples }))).toEqual([
      { name: "event_store_http_requests", type: "counter", samples: [] },
      { name: "event_store_http_request_duration_seconds", type: "histogram", samples: [] },
    ]);
  });
});
