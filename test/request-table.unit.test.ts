import { describe, expect, test } from "bun:test";
import { Counter, Histogram, Registry } from "prom-client";
import { RequestTable } from "../src/metrics/request-table.ts";

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const COUNTER = { name: "t_requests_total", help: "requests" };
const HISTOGRAM = { name: "t_request_duration_seconds", help: "durations", buckets: BUCKETS };

/** Each series line with its labels sorted, the lines sorted: the exposition's content, whatever the label order. */
function seriesOf(exposition: string): string[] {
  return exposition
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => {
      const match = /^(\w+)\{(.*)\} (\S+)$/.exec(line);
      return match ? `${match[1]}{${match[2]!.split(",").sort().join(",")}} ${match[3]}` : line;
    })
    .sort();
}

describe("RequestTable", () => {
  test("writes out exactly what prom-client's own Counter and Histogram write for the same requests", async () => {
    const ours = new Registry();
    const table = new RequestTable({ ...COUNTER, registers: [ours] }, { ...HISTOGRAM, registers: [ours] });
    const theirs = new Registry();
    const counter = new Counter({ ...COUNTER, labelNames: ["method", "route", "status"], registers: [theirs] });
    const histogram = new Histogram({ ...HISTOGRAM, labelNames: ["method", "route"], registers: [theirs] });

    const routes = [["POST", "/events"], ["GET", "/topics/:topic/events"], ["GET", "(unmatched)"]] as const;
    const statuses = [201, 400, 404, 503];
    // Every bound exactly (a value on a bound is in that bucket), between bounds, past the last, and zero.
    const durations = [0, ...BUCKETS, ...BUCKETS.map((bound) => bound * 0.99), 61, 3600];
    // Every route × status × duration, in an order that interleaves them.
    for (let i = 0; i < routes.length * statuses.length * durations.length; i++) {
      const [method, route] = routes[i % routes.length]!;
      const status = statuses[Math.floor(i / routes.length) % statuses.length]!;
      const seconds = durations[Math.floor(i / (routes.length * statuses.length)) % durations.length]!;
      table.observe(method, route, status, seconds);
      counter.inc({ method, route, status: String(status) });
      histogram.observe({ method, route }, seconds);
    }

    const expected = seriesOf(await theirs.metrics());
    expect(expected.length).toBe(2 * 2 + 3 * 4 + 3 * (BUCKETS.length + 3));
    expect(seriesOf(await ours.metrics())).toEqual(expected);
    const byLabels = (values: { labels: object }[]) => values.map((value) => JSON.stringify(value)).sort();
    expect(byLabels((await table.counter.get()).values)).toEqual(byLabels((await counter.get()).values));
  });

  test("nothing observed: the metrics are declared, with no series", async () => {
    const registry = new Registry();
    new RequestTable({ ...COUNTER, registers: [registry] }, { ...HISTOGRAM, registers: [registry] });
    expect(seriesOf(await registry.metrics())).toEqual(
      ["# HELP t_request_duration_seconds durations", "# HELP t_requests_total requests", "# TYPE t_request_duration_seconds histogram", "# TYPE t_requests_total counter"],
    );
  });
});
