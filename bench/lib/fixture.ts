import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The one topic every row uses. */
export const TOPIC = "bench";
export const EVENT_TYPE = "e";

/** The bench topic's schema: the publish path validates id (string) and n (integer). */
export const BENCH_SCHEMA = {
  eventType: EVENT_TYPE,
  type: "object",
  properties: { id: { type: "string" }, name: { type: "string" }, n: { type: "integer" } },
  required: ["id", "n"],
};

/** The payload of event n; the wrk script and the Bun load generator build the same ~100-byte item. */
export function payloadJson(n: number): string {
  return `{"id":"${n}","name":"bench user","n":${n}}`;
}

export function publishItem(n: number): string {
  return `{"topic":"${TOPIC}","type":"${EVENT_TYPE}","payload":${payloadJson(n)}}`;
}

export interface StoreDirs {
  root: string;
  dataDir: string;
  configDir: string;
  env: Record<string, string>;
  remove(): void;
}

/**
 * A fresh DATA_DIR/CONFIG_DIR pair with the bench topic defined by its config
 * file, exactly as POST /topics would leave it, so no row depends on HTTP setup.
 */
export function createStore(label: string): StoreDirs {
  const root = mkdtempSync(join(tmpdir(), `event-store-bench-${label}-`));
  const dataDir = join(root, "data");
  const configDir = join(root, "config");
  mkdirSync(dataDir, { recursive: true });
  mkdirSync(join(configDir, "topics"), { recursive: true });
  const definition = { name: TOPIC, schemas: [BENCH_SCHEMA], createdAt: new Date().toISOString() };
  writeFileSync(join(configDir, "topics", `${TOPIC}.json`), `${JSON.stringify(definition, null, 2)}\n`);
  const store: StoreDirs = {
    root,
    dataDir,
    configDir,
    env: { DATA_DIR: dataDir, CONFIG_DIR: configDir },
    remove() {
      live.delete(store);
      rmSync(root, { recursive: true, force: true });
    },
  };
  live.add(store);
  return store;
}

const live = new Set<StoreDirs>();

/** Removes every store not removed yet (on errors and Ctrl-C), so no run leaves gigabytes in /tmp. */
export function removeAllStores(): void {
  for (const store of live) store.remove();
}

/** Total size of the files under a directory. */
export function bytesUnder(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += statSync(join(entry.parentPath, entry.name)).size;
  }
  return total;
}
