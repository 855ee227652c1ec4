import { resolve } from "node:path";

/**
 * The compiled executable under test, from `EVENT_STORE_BINARY`. These e2e
 * files are not picked up by `bun test` (no `.test.` in their names); `.ci/run`
 * builds the binary and runs them explicitly:
 *
 *   bun run build && EVENT_STORE_BINARY=dist/event-store bun test ./test/e2e/binary.e2e.ts ./test/e2e/swagger-browser.e2e.ts
 */
export function compiledBinary(): string {
  const path = process.env.EVENT_STORE_BINARY;
  if (path === undefined || path === "") {
    throw new Error("EVENT_STORE_BINARY is not set: build with `bun run build`, then run EVENT_STORE_BINARY=dist/event-store bun test ./test/e2e/<file>.e2e.ts");
  }
  return resolve(path);
}
