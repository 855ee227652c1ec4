/**
 * The path of an absolute request URL without building a URL object:
 * `http://host:8000/health?x=1` → `/health`. Hooks that run before routing
 * (auth, rate limit) use it to recognise `GET /health`.
 */
export function requestPath(url: string): string {
  const scheme = url.indexOf("://");
  const start = url.indexOf("/", scheme === -1 ? 0 : scheme + 3);
  if (start === -1) return "/";
  const query = url.indexOf("?", start);
  return query === -1 ? url.slice(start) : url.slice(start, query);
}

/** The one request that needs neither a token nor a share of the rate limit: liveness probes. */
export function isHealthCheck(request: Request): boolean {
  return request.method === "GET" && requestPath(request.url) === "/health";
}
