import { Counter, type CounterConfiguration, Histogram, type HistogramConfiguration } from "prom-client";

type RouteLabel = "method" | "route";
type StatusLabel = RouteLabel | "status";

/** The requests of one method and route pattern: counts by status, and their durations. */
interface RouteSeries {
  labels: { method: string; route: string };
  statuses: Map<number, number>;
  /** Observations per bucket, not cumulative; the last one is +Inf. */
  buckets: Float64Array;
  sum: number;
  count: number;
}

/**
 * HTTP request counts and durations, kept as plain numbers while requests
 * finish and handed to prom-client when scraped, which writes them out as it
 * writes its own counters and histograms. prom-client's own `inc` and
 * `observe` hash and validate the label set on every call: on the publish
 * route that was a few µs of every request.
 */
export class RequestTable {
  private readonly series = new Map<string, RouteSeries>();
  /** Upper bounds of the duration buckets, ascending (+Inf implied). */
  private readonly bounds: number[];
  readonly counter: Counter<StatusLabel>;
  readonly histogram: Histogram<RouteLabel>;

  constructor(
    counter: Omit<CounterConfiguration<StatusLabel>, "labelNames">,
    histogram: Omit<HistogramConfiguration<RouteLabel>, "labelNames"> & { buckets: readonly number[] },
  ) {
    this.bounds = [...histogram.buckets].sort((a, b) => a - b);
    this.counter = new TableCounter({ ...counter, labelNames: ["method", "route", "status"] }, this);
    this.histogram = new TableHistogram({ ...histogram, buckets: this.bounds, labelNames: ["method", "route"] }, this);
  }

  observe(method: string, route: string, status: number, seconds: number): void {
    const key = `${method} ${route}`;
    let series = this.series.get(key);
    if (series === undefined) {
      series = { labels: { method, route }, statuses: new Map(), buckets: new Float64Array(this.bounds.length + 1), sum: 0, count: 0 };
      this.series.set(key, series);
    }
    series.statuses.set(status, (series.statuses.get(status) ?? 0) + 1);
    const bounds = this.bounds;
    let bucket = 0;
    while (bucket < bounds.length && seconds > bounds[bucket]!) bucket++;
    series.buckets[bucket]!++;
    series.sum += seconds;
    series.count++;
  }

  /** The counter's values, as prom-client's Counter.get() lists them. */
  countValues(): { value: number; labels: Record<StatusLabel, string> }[] {
    const values: { value: number; labels: Record<StatusLabel, string> }[] = [];
    for (const { labels, statuses } of this.series.values()) {
      for (const [status, value] of statuses) values.push({ value, labels: { ...labels, status: String(status) } });
    }
    return values;
  }

  /** The histogram's values, as prom-client's Histogram.get() lists them: cumulative buckets, +Inf, sum, count. */
  durationValues(name: string): { value: number; labels: Record<string, string | number>; metricName: string }[] {
    const values: { value: number; labels: Record<string, string | number>; metricName: string }[] = [];
    for (const { labels, buckets, sum, count } of this.series.values()) {
      let cumulative = 0;
      this.bounds.forEach((le, i) => {
        cumulative += buckets[i]!;
        values.push({ value: cumulative, labels: { ...labels, le }, metricName: `${name}_bucket` });
      });
      values.push({ value: count, labels: { ...labels, le: "+Inf" }, metricName: `${name}_bucket` });
      values.push({ value: sum, labels: { ...labels }, metricName: `${name}_sum` });
      values.push({ value: count, labels: { ...labels }, metricName: `${name}_count` });
    }
    return values;
  }
}

/** A Counter whose values are the table's; its own `inc` is never called. */
class TableCounter extends Counter<StatusLabel> {
  constructor(
    configuration: CounterConfiguration<StatusLabel>,
    private readonly table: RequestTable,
  ) {
    super(configuration);
  }

  override async get() {
    return { ...(await super.get()), values: this.table.countValues() };
  }
}

/** A Histogram whose values are the table's; its own `observe` is never called. */
class TableHistogram extends Histogram<RouteLabel> {
  constructor(
    private readonly configuration: HistogramConfiguration<RouteLabel>,
    private readonly table: RequestTable,
  ) {
    super(configuration);
  }

  // Not through super.get(): it reads getForPromString, which reads this.
  override async get(): ReturnType<Histogram<RouteLabel>["get"]> {
    const { name, help, aggregator = "sum" } = this.configuration;
    const metric = { name, help, type: "histogram", aggregator, values: this.table.durationValues(name) };
    return metric as unknown as Awaited<ReturnType<Histogram<RouteLabel>["get"]>>;
  }

  /** What the registry writes out (it prefers this to `get`); the values carry all their labels. */
  getForPromString() {
    return this.get();
  }
}
