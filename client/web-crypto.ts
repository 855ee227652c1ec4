/**
 * WebCrypto without relying on the `crypto` global, which Node 18 lacks
 * (there it is `require("node:crypto").webcrypto`). Bun, Deno, browsers and
 * Node ≥ 20 have the global; only where it is missing is `node:crypto`
 * loaded, lazily, so browser bundles never see it.
 *
 * @module
 */

/** The parts of WebCrypto the client uses. */
export type WebCrypto = Pick<Crypto, "getRandomValues" | "subtle">;

// Computed, not a literal (which minifiers would inline): bundlers must not try to resolve (or polyfill)
// a Node built-in for a browser build that never reaches this import.
const NODE_CRYPTO = ["node", "crypto"].join(":");

let cached: Promise<WebCrypto> | undefined;

/** The platform's WebCrypto. @throws {Error} when neither the global nor `node:crypto` offers it. */
export function webCrypto(): Promise<WebCrypto> {
  cached ??= load();
  return cached;
}

async function load(): Promise<WebCrypto> {
  const global = (globalThis as { crypto?: WebCrypto }).crypto;
  if (global?.subtle !== undefined) return global;
  const module = (await import(/* @vite-ignore */ /* webpackIgnore: true */ NODE_CRYPTO)) as { webcrypto?: WebCrypto };
  if (module.webcrypto?.subtle === undefined) throw new Error("EventStoreClient: no WebCrypto on this platform");
  return module.webcrypto;
}

/** A random RFC 4122 version 4 UUID, e.g. for an `Idempotency-Key`. */
export async function randomUuid(): Promise<string> {
  const bytes = (await webCrypto()).getRandomValues(new Uint8Array(16));
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x40;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
