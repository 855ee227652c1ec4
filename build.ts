/**
 * `bun run build`: the single-file server binary and the Node-ready client.
 *
 *   bun run build                         dist/event-store for this machine + dist/client
 *   bun run build --target bun-linux-arm64 [--target …]   also cross-compiled binaries
 *   bun run build --all-targets           every release target (needs each target's Bun runtime)
 *   bun run build --client-only           only dist/client
 */
import { rmSync } from "node:fs";
import { parseArgs } from "node:util";
import packageJson from "./package.json" with { type: "json" };

export const RELEASE_TARGETS = [
  "bun-linux-x64",
  "bun-linux-arm64",
  "bun-darwin-arm64",
  "bun-darwin-x64",
  "bun-windows-x64",
] as const;

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    target: { type: "string", multiple: true, default: [] },
    "all-targets": { type: "boolean", default: false },
    "client-only": { type: "boolean", default: false },
  },
});

const define = { EVENT_STORE_VERSION: JSON.stringify(packageJson.version) };

async function buildBinary(target?: string): Promise<string> {
  const outfile = target ? `dist/event-store-${target.replace(/^bun-/, "")}` : "dist/event-store";
  const result = await Bun.build({
    entrypoints: ["src/main.ts"],
    compile: target ? { target: target as Bun.Build.CompileTarget, outfile } : { outfile },
    minify: true,
    sourcemap: "linked",
    define,
  });
  if (!result.success) throw new AggregateError(result.logs, `build of ${outfile} failed`);
  return target === "bun-windows-x64" ? `${outfile}.exe` : outfile;
}

async function buildClient(): Promise<void> {
  rmSync("dist/client", { recursive: true, force: true });
  const result = await Bun.build({
    entrypoints: ["client/index.ts"],
    outdir: "dist/client",
    target: "node",
    format: "esm",
    sourcemap: "linked",
    define,
  });
  if (!result.success) throw new AggregateError(result.logs, "client build failed");
  rmSync("dist/types", { recursive: true, force: true });
  const tsc = Bun.spawnSync(["bunx", "tsc", "-p", "tsconfig.client.json"], { stdout: "inherit", stderr: "inherit" });
  if (tsc.exitCode !== 0) throw new Error("client declarations failed (tsc -p tsconfig.client.json)");
  // Declarations keep the sources' `.ts` specifiers; Node resolves `.js` to the `.d.ts` beside it.
  for (const path of new Bun.Glob("dist/types/**/*.d.ts").scanSync()) {
    const text = await Bun.file(path).text();
    await Bun.write(path, text.replace(/(from\s+["'][^"']+)\.ts(["'])/g, "$1.js$2"));
  }
  await Bun.write("dist/client/index.d.ts", 'export * from "../types/client/index.js";\n');
}

const started = performance.now();
await buildClient();
console.log("built dist/client (ESM + .d.ts)");
if (values["client-only"]) process.exit(0);
const host = await buildBinary();
console.log(`built ${host} (${(Bun.file(host).size / 1024 / 1024).toFixed(1)} MiB)`);

const targets = values["all-targets"] ? [...RELEASE_TARGETS] : values.target;
let failed = 0;
for (const target of targets) {
  try {
    console.log(`built ${await buildBinary(target)}`);
  } catch (error) {
    failed++;
    console.error(`could not build ${target}: ${(error as Error).message}`);
  }
}
console.log(`done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
process.exit(failed > 0 ? 1 : 0);
