/** One fixed-duration load run, the same for wrk and the Bun generator. */
export interface LoadSpec {
  /** Server base URL, e.g. http://127.0.0.1:40000 */
  baseUrl: string;
  /** `publish`: POST /events with `batch` new events per request; `get`: GET `path`. */
  kind: "publish" | "get";
  /** For `get`: path and query. */
  path?: string;
  topic: string;
  batch: number;
  connections: number;
  durationS: number;
}

export interface LoadResult {
  /** Requests answered 2xx. */
  ok: number;
  /** Non-2xx answers, socket errors and timeouts. */
  errors: number;
  seconds: number;
  /** 2xx requests per second. */
  rps: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** CPU seconds the load generator itself used. */
  generatorCpuS: number;
}
