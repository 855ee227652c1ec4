/**
 * `bun run build`: the single-file server binary and the client package.
 *
 *   bun run build                         dist/event-store for this machine + client/dist
 *   bun run build --target bun-linux-arm64 [--target …]   also cross-compiled binaries
 *   bun run build --all-targets           every release target (needs each target's Bun runtime)
 *   bun run build --client-only           only client/dist (what `npm pack` of client/ ships)
 */
import { rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { BunPlugin } from "bun";
import packageJson from "./package.json" with { type: "json" };

export const RELEASE_TARGETS = [
  "bun-linux-x64",
  "bun-linux-arm64",
  "bun-darwin-arm64",
  "bun-darwin-x64",
  "bun-windows-x64",
] as const;

const CLIENT_DIST = "client/dist";

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    target: { type: "string", multiple: true, default: [] },
    "all-targets": { type: "boolean", default: false },
    "client-only": { type: "boolean", default: false },
  },
});

const define = { EVENT_STORE_VERSION: JSON.stringify(packageJson.version) };

/**
 * Where the schema worker is inside the binary: `--compile` bundles every
 * module into one file and each listed entry point beside it, named by its
 * path under the entries' common folder (src/).
 */
const SCHEMA_WORKER_IN_BINARY = "/$bunfs/root/topics/schema-worker.js";

/**
 * `src/http/scalar-bundle.ts` finds Scalar's bundle at run time in
 * node_modules, which the binary does not have: here it becomes a `file`
 * import of that path, which `--compile` embeds.
 */
const embedScalarBundle: BunPlugin = {
  name: "embed-scalar-bundle",
  setup(build) {
    build.onLoad({ filter: /[\\/]src[\\/]http[\\/]scalar-bundle\.ts$/ }, () => {
      const path = fileURLToPath(new URL("browser/standalone.js", import.meta.resolve("@scalar/api-reference")));
      return {
        loader: "ts",
        contents: `import bundle from ${JSON.stringify(path)} with { type: "file" };\nexport const SCALAR_BUNDLE: string = bundle;\n`,
      };
    });
  },
};

async function buildBinary(target?: string): Promise<string> {
  const outfile = target ? `dist/event-store-${target.replace(/^bun-/, "")}` : "dist/event-store";
  const result = await Bun.build({
    // The schema worker is its own entry point: `--compile` embeds only what is listed (see SchemaCompiler).
    entrypoints: ["src/main.ts", "src/topics/schema-worker.ts"],
    compile: target ? { target: target as Bun.Build.CompileTarget, outfile } : { outfile },
    minify: true,
    sourcemap: "linked",
    define: { ...define, EVENT_STORE_SCHEMA_WORKER: JSON.stringify(SCHEMA_WORKER_IN_BINARY) },
    plugins: [embedScalarBundle],
  });
  if (!result.success) throw new AggregateError(result.logs, `build of ${outfile} failed`);
  return target === "bun-windows-x64" ? `${outfile}.exe` : outfile;
}

async function bundle(options: { entry: string; format: "esm" | "cjs"; target: "node" | "browser"; naming: string; minify?: boolean }) {
  const result = await Bun.build({
    entrypoints: [options.entry],
    outdir: CLIENT_DIST,
    naming: options.naming,
    target: options.target,
    format: options.format,
    minify: options.minify ?? false,
    sourcemap: "linked",
    // The typed entry's Eden is the app's own copy (a peer dependency), never bundled.
    packages: "external",
    define,
  });
  if (!result.success) throw new AggregateError(result.logs, `client build of ${options.naming} failed`);
}

/** Relative `.ts` specifiers in declarations (`from "./x.ts"`, `import("./x.ts")`) with `extension` instead. */
function rewriteSpecifiers(text: string, extension: ".js" | ".cjs"): string {
  return text.replace(/((?:from\s+|import\()["'])(\.{1,2}\/[^"']+)\.ts(["'])/g, `$1$2${extension}$3`);
}

/**
 * client/dist: ESM and CommonJS of both entries (`index`, `typed`), a
 * minified browser ESM of the main entry, and declarations for each
 * format (`.d.ts` beside ESM, `.d.cts` beside CommonJS, so `NodeNext`
 * type-checks a `require` as CommonJS). The declarations include the
 * server's route types (`src/app.ts` and what it names), which is what
 * makes the typed client typed in the user's app.
 */
async function buildClient(): Promise<void> {
  rmSync(CLIENT_DIST, { recursive: true, force: true });
  for (const entry of ["index", "typed"]) {
    await bundle({ entry: `client/${entry}.ts`, format: "esm", target: "node", naming: `${entry}.js` });
    await bundle({ entry: `client/${entry}.ts`, format: "cjs", target: "node", naming: `${entry}.cjs` });
  }
  await bundle({ entry: "client/index.ts", format: "esm", target: "browser", naming: "index.browser.js", minify: true });

  const tsc = Bun.spawnSync(["bunx", "tsc", "-p", "tsconfig.client.json"], { stdout: "inherit", stderr: "inherit" });
  if (tsc.exitCode !== 0) throw new Error("client declarations failed (tsc -p tsconfig.client.json)");
  for (const path of new Bun.Glob(`${CLIENT_DIST}/types/**/*.d.ts`).scanSync()) {
    const text = await Bun.file(path).text();
    await Bun.write(path, rewriteSpecifiers(text, ".js"));
    await Bun.write(path.replace(/\.d\.ts$/, ".d.cts"), rewriteSpecifiers(text, ".cjs"));
  }
  for (const entry of ["index", "typed"]) {
    await Bun.write(`${CLIENT_DIST}/${entry}.d.ts`, `export * from "./types/client/${entry}.js";\n`);
    await Bun.write(`${CLIENT_DIST}/${entry}.d.cts`, `export * from "./types/client/${entry}.cjs";\n`);
  }
}

const started = performance.now();
await buildClient();
console.log(`built ${CLIENT_DIST} (ESM + CommonJS + browser, .d.ts + .d.cts)`);
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
