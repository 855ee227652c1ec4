/**
 * The Eden typed client: every route, body, query and response typed from the
 * server's own route definitions.
 *
 * @module
 */
import { type Treaty, treaty } from "@elysiajs/eden";
import type { App } from "../src/app.ts";

/**
 * @example
 * ```ts
 * const api = createTypedClient("http://localhost:8000");
 * const { data, error } = await api.topics({ topic: "orders" }).events.get({ query: { limit: "10" } });
 * ```
 */
export function createTypedClient(baseUrl: string, options: Treaty.Config = {}): Treaty.Create<App> {
  return treaty<App>(baseUrl, options);
}

export type TypedClient = Treaty.Create<App>;
