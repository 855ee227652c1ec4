import { cors } from "@elysiajs/cors";
import { Elysia } from "elysia";

/** Request headers a browser app may send beyond the CORS-safelisted ones. */
export const CORS_ALLOWED_HEADERS = ["Authorization", "Idempotency-Key", "Content-Type"] as const;
/** Response headers a browser app may read: when to retry a 429/503, and whether a publish was a replay. */
export const CORS_EXPOSED_HEADERS = ["Retry-After", "Idempotent-Replayed"] as const;
/** How long a browser may cache a preflight answer, in seconds. @default 600 */
export const CORS_MAX_AGE_SECONDS = 600;

/**
 * CORS_ORIGINS: lets browser apps on the listed origins (or any, with `*`)
 * call the API. Registered before rate limiting and authentication, so a
 * preflight (which never carries the token) is answered here, and refusals
 * (401, 429) carry the headers that let the app read them. No origins: the
 * plugin is a no-op and the server sends no CORS headers at all, so browsers
 * on other origins are refused.
 *
 * Credentials (cookies) are not allowed: the API authenticates with a bearer
 * token that the app sends itself.
 */
export function corsPolicy(origins: readonly string[]) {
  const plugin = new Elysia({ name: "cors-policy", seed: origins });
  if (origins.length === 0) return plugin;
  return plugin.use(
    cors({
      origin: origins.includes("*") ? "*" : [...origins],
      methods: ["GET", "POST", "PUT", "DELETE"],
      allowedHeaders: [...CORS_ALLOWED_HEADERS],
      exposeHeaders: [...CORS_EXPOSED_HEADERS],
      credentials: false,
      maxAge: CORS_MAX_AGE_SECONDS,
    }),
  );
}
