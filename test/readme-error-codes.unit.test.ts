import { expect, test } from "bun:test";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..");

function sources(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((file) => file.endsWith(".ts"))
    .map((file) => readFileSync(join(dir, file), "utf8"));
}

/** Every `code` the server can answer with: the error classes' own, and those passed to InvalidRequestError. */
function serverCodes(): string[] {
  const codes = new Set<string>();
  for (const source of sources(join(ROOT, "src"))) {
    for (const m of source.matchAll(/\bcode = "([A-Z_]+)"/g)) codes.add(m[1]!);
    for (const m of source.matchAll(/new InvalidRequestError\([^;]*?,\s*"([A-Z_]+)"/g)) codes.add(m[1]!);
  }
  return [...codes].sort();
}

test("the README's Client section lists every error code the server answers with", () => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const client = readme.slice(readme.indexOf("## Client"), readme.indexOf("## Testing your service"));
  const codes = serverCodes();
  expect(codes.length).toBeGreaterThan(30);
  expect(codes.filter((code) => !client.includes(`\`${code}\``))).toEqual([]);
});
