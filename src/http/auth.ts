import { createHash, timingSafeEqual } from "node:crypto";
import { Elysia } from "elysia";
import { UnauthorizedError } from "../errors.ts";
import { isHealthCheck } from "./request-path.ts";

const BEARER = /^Bearer +(\S+) *$/i;

/**
 * Checks a presented token against the configured ones in constant time:
 * both sides are compared as SHA-256 digests, so the comparison neither
 * stops at the first differing byte nor depends on the token's length, and
 * every configured token is compared (no early exit telling which matched).
 */
export function createTokenCheck(tokens: readonly string[]): (presented: string) => boolean {
  const expected = tokens.map(digest);
  return (presented) => {
    const actual = digest(presented);
    let match = false;
    for (const candidate of expected) match = timingSafeEqual(actual, candidate) || match;
    return match;
  };
}

function digest(token: string): Buffer {
  return createHash("sha256").update(token, "utf8").digest();
}

/** The token of an `Authorization: Bearer <token>` header (scheme case-insensitive), else null. */
export function bearerToken(header: string | null): string | null {
  if (header === null) return null;
  return BEARER.exec(header)?.[1] ?? null;
}

export interface BearerAuthOptions {
  /** Requests served without a token besides `GET /health` (METRICS_PUBLIC, the admin page's static files). */
  isPublic?: (request: Request) => boolean;
}

/**
 * AUTH_TOKEN: every request except `GET /health` must carry
 * `Authorization: Bearer <one of tokens>`, else 401 UNAUTHORIZED with
 * `WWW-Authenticate: Bearer`. It runs on request, before routing and body
 * parsing, so without a token nothing is parsed, unknown routes are not told
 * from known ones, and /swagger is closed too. No tokens: the plugin is a no-op.
 */
export function bearerAuth(tokens: readonly string[], options: BearerAuthOptions = {}) {
  const plugin = new Elysia({ name: "bearer-auth", seed: tokens });
  if (tokens.length === 0) return plugin;
  const check = createTokenCheck(tokens);
  const isPublic = options.isPublic;
  return plugin.onRequest(({ request }) => {
    if (isHealthCheck(request) || isPublic?.(request)) return;
    const token = bearerToken(request.headers.get("authorization"));
    if (token === null || !check(token)) throw new UnauthorizedError();
  });
}
