/**
 * The Eden typed client (the package's `/typed` entry): every route, body,
 * query and response typed from the server's own route definitions, so a
 * wrong path or body is a compile error. Needs the peer dependencies
 * `elysia` and `@elysiajs/eden`; the main entry does not.
 *
 * @module
 */
import { type Treaty, treaty } from "@elysiajs/eden";
import type { App } from "../src/app.ts";

/**
 * @example
 * ```ts
 * const api = createTypedClient("http://localhost:8000");
 * const { data, error } = await api.topics({ topic: "orders" }).events.get({ query: { limit: 10 } });
 * ```
 */
export function createTypedClient(baseUrl: string, options: Treaty.Config = {}): Treaty.Create<App> {
  return treaty<App>(baseUrl, options);
}

/** The typed client of this server's API. */
export type TypedClient = Treaty.Create<App>;
/** The server's Elysia app type, for `treaty<App>()` and other Eden helpers. */
export type { App };
