/**
 * The per-request metrics (`event_store_http_requests_total` and
 * `event_store_http_request_duration_seconds`), kept as plain numbers and
 * written out in the Prometheus text format at scrape time. They are updated
 * on every request; prom-client's labelled series validate and hash their
 * labels on each update, which cost the publish route a few per cent of its
 * throughput.
 */

const REQUESTS = "event_store_http_requests_total";
const DURATION = "event_store_http_request_duration_seconds";
/** Upper bounds of the duration buckets, in seconds. */
export const REQUEST_DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] as const;

interface Requests {
  labels: string;
  count: number;
}

interface Durations {
  labels: string;
  /** Observations per bucket (not cumulative); the last slot is +Inf. */
  buckets: Float64Array;
  sum: number;
  count: number;
}

/** A label value as the text format quotes it. */
function quoted(value: string): string {
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
}

export class RequestSeries {
  private readonly requests = new Map<string, Requests>();
  private readonly durations = new Map<string, Durations>();

  /** One finished request; `route` is the matched pattern, so the series are bounded by the route table. */
  observe(method: string, route: string, status: number, seconds: number): void {
    const key = `${method} ${route}`;
    let durations = this.durations.get(key);
    if (durations === undefined) {
      durations = { labels: `method=${quoted(method)},route=${quoted(route)}`, buckets: new Float64Array(REQUEST_DURATION_BUCKETS.length + 1), sum: 0, count: 0 };
      this.durations.set(key, durations);
    }
    let bucket = 0;
    while (bucket < REQUEST_DURATION_BUCKETS.length && seconds > REQUEST_DURATION_BUCKETS[bucket]!) bucket++;
    durations.buckets[bucket]!++;
    durations.sum += seconds;
    durations.count++;

    const statusKey = `${key} ${status}`;
    let requests = this.requests.get(statusKey);
    if (requests === undefined) {
      requests = { labels: `${durations.labels},status="${status}"`, count: 0 };
      this.requests.set(statusKey, requests);
    }
    requests.count++;
  }

  /** Both families in the Prometheus text format, each line ending in a newline. */
  exposition(): string {
    const lines = [`# HELP ${REQUESTS} HTTP requests by route pattern and status`, `# TYPE ${REQUESTS} counter`];
    for (const { labels, count } of this.requests.values()) lines.push(`${REQUESTS}{${labels}} ${count}`);
    lines.push(`# HELP ${DURATION} Time from receiving a request to sending its response (long-polls included)`, `# TYPE ${DURATION} histogram`);
    for (const { labels, buckets, sum, count } of this.durations.values()) {
      let cumulative = 0;
      REQUEST_DURATION_BUCKETS.forEach((bound, i) => {
        cumulative += buckets[i]!;
        lines.push(`${DURATION}_bucket{le="${bound}",${labels}} ${cumulative}`);
      });
      lines.push(`${DURATION}_bucket{le="+Inf",${labels}} ${count}`, `${DURATION}_sum{${labels}} ${sum}`, `${DURATION}_count{${labels}} ${count}`);
    }
    return `${lines.join("\n")}\n`;
  }
}
