/**
 * The two packages as an outside app gets them: `npm pack` of the client
 * (client/) and of the server (the repo root), installed from the tarballs
 * into fresh projects under the OS temp directory — a Node ESM app, a Node
 * CommonJS app and a Bun app — then type-checked with the pinned `tsc` and
 * run against a real server. Needs the npm registry for the typed client's
 * peer dependencies (elysia, @elysiajs/eden); run by `.ci/run`:
 *
 *   bun test ./test/e2e/packaging.e2e.ts
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunningEventStore, startEventStore } from "../../client/testing.ts";

const ROOT = join(import.meta.dir, "..", "..");
const APPS = join(import.meta.dir, "packaging-apps");
const TSC = join(ROOT, "node_modules", "typescript", "bin", "tsc");
/** The typed client's peers, pinned to what the server is built with. */
const PEERS = ["elysia@1.4.30", "@elysiajs/eden@1.4.9"];
const ONE_MB = 1024 * 1024;
const SETUP_TIMEOUT_MS = 300_000;
const STEP_TIMEOUT_MS = 120_000;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(command: string[], cwd: string, env: Record<string, string> = {}): Promise<Run> {
  const child = Bun.spawn(command, { cwd, env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
  const [code, stdout, stderr] = await Promise.all([child.exited, new Response(child.stdout).text(), new Response(child.stderr).text()]);
  return { code, stdout, stderr };
}

/** Runs and insists on exit code 0, showing the output otherwise. */
async function ok(command: string[], cwd: string, env: Record<string, string> = {}): Promise<Run> {
  const result = await run(command, cwd, env);
  if (result.code !== 0) throw new Error(`${command.join(" ")} (in ${cwd}) exited ${result.code}:\n${result.stdout}\n${result.stderr}`);
  return result;
}

/** `npm pack` into `destination`; returns the tarball's path. `prepack` builds what the package ships. */
async function pack(directory: string, destination: string): Promise<string> {
  const { stdout } = await ok(["npm", "pack", "--json", "--pack-destination", destination], directory);
  // prepack output may precede npm's JSON on stdout.
  const [info] = JSON.parse(stdout.slice(stdout.indexOf("["))) as { filename: string }[];
  return join(destination, info!.filename);
}

function newApp(root: string, name: string, packageJson: Record<string, unknown>): string {
  const dir = join(root, name);
  mkdirSync(dir);
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name, private: true, version: "0.0.0", ...packageJson }, null, 2));
  return dir;
}

const npmInstall = (dir: string, specs: string[]) => ok(["npm", "install", "--no-audit", "--no-fund", "--prefer-offline", ...specs], dir);

function sizeOf(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.size;
  return readdirSync(path).reduce((total, entry) => total + sizeOf(join(path, entry)), 0);
}

async function tarEntries(tarball: string): Promise<string[]> {
  const { stdout } = await ok(["tar", "-tzf", tarball], ROOT);
  return stdout.trim().split("\n");
}

/** The apps' one shared script, as ESM (top-level await) or CommonJS (an async main). */
function appSource(kind: "esm" | "cjs"): string {
  const body = readFileSync(join(APPS, "app-body.js"), "utf8");
  if (kind === "esm") {
    return [
      'import http from "node:http";',
      'import { EventStoreClient, EventStoreError, WebhookVerificationError, verifyWebhook } from "@event-store-js/client";',
      'import { createTypedClient } from "@event-store-js/client/typed";',
      body,
    ].join("\n");
  }
  return [
    'const http = require("node:http");',
    'const { EventStoreClient, EventStoreError, WebhookVerificationError, verifyWebhook } = require("@event-store-js/client");',
    "(async () => {",
    body,
    "})().catch((error) => { console.error(error); process.exit(1); });",
  ].join("\n");
}

function expectedReport(topic: string, typed: boolean) {
  const ids = [`${topic}-1`, `${topic}-2`];
  return {
    ids,
    payloads: [1, 2],
    delivered: ids,
    consumerMatches: true,
    verified: true,
    forged: "INVALID_SIGNATURE",
    missing: [404, "TOPIC_NOT_FOUND"],
    typed: typed ? ids : null,
  };
}

/** The line numbers of `file` that tsc reports errors on. */
function errorLines(output: string, file: string): number[] {
  return [...output.matchAll(new RegExp(`${file.replace(".", "\\.")}\\((\\d+),\\d+\\): error TS\\d+`, "g"))].map((m) => Number(m[1]));
}

const NODE_NEXT = ["--module", "nodenext", "--moduleResolution", "nodenext"];
const BUNDLER = ["--module", "esnext", "--moduleResolution", "bundler"];
const tsc = (dir: string, resolution: string[], files: string[], extra: string[] = []) =>
  run(["node", TSC, "--noEmit", "--strict", "--target", "es2022", "--lib", "es2022,dom", ...resolution, ...extra, ...files], dir);

let root: string;
let clientTarball: string;
let serverTarball: string;
/**
 * The maintained Node LTS lines the client package supports, as the npm
 * registry ships their binaries (`node-<platform>-<arch>`), so the apps run
 * on each of them and not only on the machine's own Node.
 */
const NODE_LTS = ["22.23.5", "24.22.3"] as const;
const nodeBinary = (version: string) => join(root, "nodes", version, "node_modules", `node-${process.platform}-${process.arch}`, "bin", "node");

let esmApp: string;
let cjsApp: string;
let bunApp: string;
let store: RunningEventStore;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "event-store-packaging-"));
  const tarballs = join(root, "tarballs");
  mkdirSync(tarballs);
  clientTarball = await pack(join(ROOT, "client"), tarballs);
  serverTarball = await pack(ROOT, tarballs);

  esmApp = newApp(root, "node-esm-app", { type: "module" });
  cjsApp = newApp(root, "node-cjs-app", { type: "commonjs" });
  bunApp = newApp(root, "bun-app", { type: "module" });
  await Promise.all([
    npmInstall(esmApp, [clientTarball, ...PEERS]),
    npmInstall(cjsApp, [clientTarball]),
    ok(["bun", "add", serverTarball, clientTarball], bunApp).then(() => ok(["bun", "add", "-d", "@types/bun@1.4.5"], bunApp)),
    ...NODE_LTS.map((version) => {
      const dir = join(root, "nodes", version);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "package.json"), "{}");
      return npmInstall(dir, [`node-${process.platform}-${process.arch}@${version}`]);
    }),
  ]);
  for (const file of ["consumer.ts", "consumer-cjs.cts", "wrong.ts"]) cpSync(join(APPS, file), join(esmApp, file));
  writeFileSync(join(esmApp, "app.mjs"), appSource("esm"));
  writeFileSync(join(cjsApp, "app.cjs"), appSource("cjs"));
  // Node 18 has no `crypto` global; Node 20+ does. Removing it shows the client does not need it.
  writeFileSync(join(cjsApp, "no-crypto-global.cjs"), "delete globalThis.crypto;\n");
  cpSync(join(APPS, "kit-test.ts"), join(bunApp, "kit.test.ts"));
  cpSync(join(APPS, "bun-tsconfig.json"), join(bunApp, "tsconfig.json"));
  store = await startEventStore();
}, SETUP_TIMEOUT_MS);

afterAll(async () => {
  await store?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe("the client package (@event-store-js/client)", () => {
  test("the tarball holds package.json, its README and the built dist only", async () => {
    const entries = await tarEntries(clientTarball);
    expect(entries.filter((entry) => !entry.startsWith("package/dist/")).sort()).toEqual(["package/README.md", "package/package.json"]);
    for (const file of ["index.js", "index.cjs", "index.browser.js", "index.d.ts", "index.d.cts", "typed.js", "typed.cjs", "typed.d.ts", "typed.d.cts"]) {
      expect(entries).toContain(`package/dist/${file}`);
    }
    expect(entries).toContain("package/dist/types/src/app.d.ts");
    expect(entries.some((entry) => entry.endsWith(".ts") && !entry.endsWith(".d.ts"))).toBe(false);
    console.log(`client tarball: ${(statSync(clientTarball).size / 1024).toFixed(1)} KiB, ${entries.length} files`);
  });

  test("installed alone it brings no dependency, and takes under 1 MB", () => {
    const modules = join(cjsApp, "node_modules");
    expect(readdirSync(modules).filter((entry) => !entry.startsWith("."))).toEqual(["@event-store-js"]);
    expect(readdirSync(join(modules, "@event-store-js"))).toEqual(["client"]);
    const size = sizeOf(modules);
    console.log(`installed client + dependencies: ${(size / 1024).toFixed(1)} KiB`);
    expect(size).toBeLessThan(ONE_MB);
  });

  test("tsc --strict under NodeNext: the ESM consumer, the typed client and a CommonJS (.cts) consumer compile", async () => {
    // Our declarations on their own, with every .d.ts checked too (no skipLibCheck).
    const strictBase = await tsc(esmApp, NODE_NEXT, ["consumer-cjs.cts"]);
    expect(strictBase.stdout + strictBase.stderr).toBe("");
    expect(strictBase.code).toBe(0);
    // With the typed client: elysia's and eden's own declarations need Bun's or Node's types to check, so skip lib checks.
    const typed = await tsc(esmApp, NODE_NEXT, ["consumer.ts", "consumer-cjs.cts"], ["--skipLibCheck"]);
    expect(typed.stdout + typed.stderr).toBe("");
    expect(typed.code).toBe(0);
  }, STEP_TIMEOUT_MS);

  test("tsc --strict under Bundler resolution: the consumer compiles", async () => {
    const result = await tsc(esmApp, BUNDLER, ["consumer.ts"], ["--skipLibCheck"]);
    expect(result.stdout + result.stderr).toBe("");
    expect(result.code).toBe(0);
  }, STEP_TIMEOUT_MS);

  test.each([
    ["NodeNext", NODE_NEXT],
    ["Bundler", BUNDLER],
  ])("wrong calls do not compile (%s): a non-object payload, a wrong body, a missing route", async (_name, resolution) => {
    const result = await tsc(esmApp, resolution, ["wrong.ts"], ["--skipLibCheck"]);
    expect(result.code).not.toBe(0);
    expect(errorLines(result.stdout, "wrong.ts")).toEqual([7, 8, 9]);
  }, STEP_TIMEOUT_MS);

  test("a Node ESM app: create, publish, read, a signed webhook verified, errors, the typed client", async () => {
    const { stdout } = await ok(["node", "app.mjs"], esmApp, { EVENT_STORE_BASE_URL: store.url, TOPIC: "esm-orders" });
    expect(JSON.parse(stdout.trim())).toEqual(expectedReport("esm-orders", true));
  }, STEP_TIMEOUT_MS);

  test("a Node CommonJS app: the same through require()", async () => {
    const { stdout } = await ok(["node", "app.cjs"], cjsApp, { EVENT_STORE_BASE_URL: store.url, TOPIC: "cjs-orders" });
    expect(JSON.parse(stdout.trim())).toEqual(expectedReport("cjs-orders", false));
  }, STEP_TIMEOUT_MS);

  test.each(NODE_LTS.map((version) => [version]))("on Node %s (LTS): the ESM and the CommonJS app", async (version) => {
    const node = nodeBinary(version);
    expect((await ok([node, "--version"], esmApp)).stdout.trim()).toBe(`v${version}`);
    const esm = await ok([node, "app.mjs"], esmApp, { EVENT_STORE_BASE_URL: store.url, TOPIC: `esm-node-${version.split(".")[0]}` });
    expect(JSON.parse(esm.stdout.trim())).toEqual(expectedReport(`esm-node-${version.split(".")[0]}`, true));
    const cjs = await ok([node, "app.cjs"], cjsApp, { EVENT_STORE_BASE_URL: store.url, TOPIC: `cjs-node-${version.split(".")[0]}` });
    expect(JSON.parse(cjs.stdout.trim())).toEqual(expectedReport(`cjs-node-${version.split(".")[0]}`, false));
  }, STEP_TIMEOUT_MS);

  test("without a crypto global (as on Node 18): publish keys and webhook signatures still work", async () => {
    const { stdout } = await ok(["node", "--require", "./no-crypto-global.cjs", "app.cjs"], cjsApp, {
      EVENT_STORE_BASE_URL: store.url,
      TOPIC: "no-crypto-orders",
    });
    expect(JSON.parse(stdout.trim())).toEqual(expectedReport("no-crypto-orders", false));
  }, STEP_TIMEOUT_MS);
});

describe("the server package (@event-store-js/server)", () => {
  test("the tarball carries sources and package files, not .git, dist, bench, test data or the client build", async () => {
    const entries = await tarEntries(serverTarball);
    const tops = new Set(entries.map((entry) => entry.split("/")[1]));
    expect([...tops].sort()).toEqual(["README.md", "client", "package.json", "src"]);
    expect(entries.filter((entry) => entry.startsWith("package/client/") && !/^package\/client\/[a-z-]+\.ts$/.test(entry))).toEqual([]);
    expect(entries).toContain("package/src/main.ts");
    expect(entries).toContain("package/client/testing.ts");
    console.log(`server tarball: ${(statSync(serverTarball).size / 1024).toFixed(1)} KiB, ${entries.length} files`);
    const installed = join(bunApp, "node_modules", "@event-store-js", "server");
    // (Bun marks what it installed with a dot file.)
    expect(readdirSync(installed).filter((entry) => !entry.startsWith(".")).sort()).toEqual(["README.md", "client", "package.json", "src"]);
  });

  test("a Bun app: `bun test` with the testing kit from node_modules, its docs assets included", async () => {
    const result = await run(["bun", "test", "./kit.test.ts"], bunApp);
    if (result.code !== 0) console.error(result.stdout, result.stderr);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(" 1 pass");
    expect(result.stderr).toContain(" 0 fail");
  }, STEP_TIMEOUT_MS);

  test("tsc with the tsconfig `bun init` writes type-checks a test using the kit (the kit ships as TypeScript)", async () => {
    const result = await run(["node", TSC, "-p", "."], bunApp);
    expect(result.stdout + result.stderr).toBe("");
    expect(result.code).toBe(0);
  }, STEP_TIMEOUT_MS);
});
