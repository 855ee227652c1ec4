import { expect, test } from "bun:test";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import clientPackage from "../client/package.json" with { type: "json" };
import serverPackage from "../package.json" with { type: "json" };

const CLIENT = join(import.meta.dir, "..", "client");
/** The entries that may import packages: the typed client (its peers) and the testing kit (the server). */
const ALLOWED = new Map([
  ["typed.ts", ["@elysiajs/eden"]],
  ["testing.ts", ["node:fs/promises", "node:os", "node:path"]],
]);

function specifiers(source: string): string[] {
  return [...source.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;]*?\bfrom\s+["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/g)].map((m) => (m[1] ?? m[2])!);
}

test("the client's sources import nothing but each other (so the main entry loads in Deno and browsers as it is)", () => {
  const found: Record<string, string[]> = {};
  for (const file of readdirSync(CLIENT).filter((name) => name.endsWith(".ts") && !name.endsWith(".d.ts"))) {
    const external = specifiers(readFileSync(join(CLIENT, file), "utf8")).filter((s) => !s.startsWith("./") && !s.startsWith("../"));
    if (external.length > 0) found[file] = external;
  }
  expect(found).toEqual(Object.fromEntries(ALLOWED));
});

test("the client package has no dependencies; its typed entry's are optional peers; versions match the server package", () => {
  expect("dependencies" in clientPackage).toBe(false);
  expect(clientPackage.peerDependenciesMeta).toEqual({ "@elysiajs/eden": { optional: true }, elysia: { optional: true } });
  expect(clientPackage.version).toBe(serverPackage.version);
  // The server is built with the versions the peers are declared from.
  expect(clientPackage.peerDependencies).toEqual({
    "@elysiajs/eden": `^${serverPackage.devDependencies["@elysiajs/eden"]}`,
    elysia: `^${serverPackage.dependencies.elysia}`,
  });
});
