import { expect, test } from "bun:test";
import { join } from "node:path";
import { startEventStore } from "../client/testing.ts";

const ROOT = join(import.meta.dir, "..");

test("the built client/dist runs under plain Node against a real server", async () => {
  const build = Bun.spawnSync(["bun", "run", "build.ts", "--client-only"], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  if (build.exitCode !== 0) throw new Error(`client build failed: ${build.stdout}${build.stderr}`);
  await using store = await startEventStore();
  const node = Bun.spawn(["node", "--test", join(ROOT, "test/node/client-smoke.node.mjs")], {
    env: { ...process.env, EVENT_STORE_BASE_URL: store.url },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [code, stdout, stderr] = await Promise.all([node.exited, new Response(node.stdout).text(), new Response(node.stderr).text()]);
  if (code !== 0) console.error(stdout, stderr);
  expect(code).toBe(0);
  expect(stdout).toContain("# pass 3");
  expect(stdout).toContain("# fail 0");
  // The build runs tsc for the declarations: seconds on a busy machine, over bun's 5 s default.
}, 60_000);
