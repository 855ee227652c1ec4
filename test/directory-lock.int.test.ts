import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { defaultConfig } from "../src/config.ts";
import { DataDirLockedError, LOCK_FILE } from "../src/fs/data-dir-lock.ts";
import { startServer } from "../src/server.ts";
import { startServerProcess } from "./server-process.ts";
import { rejection, tempDir, waitFor } from "./utils.ts";

const MAIN = join(import.meta.dir, "..", "src", "main.ts");

function dirs(root: string) {
  return { DATA_DIR: join(root, "data"), CONFIG_DIR: join(root, "config") };
}

/** A server that must fail to start: its exit code and stderr. */
function runToExit(env: Record<string, string>) {
  const result = Bun.spawnSync(["bun", "run", MAIN], { env: { ...process.env, PORT: "0", HOST: "127.0.0.1", ...env }, stdout: "pipe", stderr: "pipe", timeout: 15_000 });
  return { code: result.exitCode, stderr: result.stderr.toString() };
}

function writeLockFile(dir: string, content: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, LOCK_FILE), content);
}

async function expectStartsAndServes(env: Record<string, string>): Promise<void> {
  const server = await startServerProcess(env);
  expect((await fetch(`${server.url}/health`)).status).toBe(200);
  expect(readFileSync(join(env.DATA_DIR!, LOCK_FILE), "utf8")).toBe(`${server.process.pid}\n`);
  expect(await server.terminate()).toBe(0);
}

function processState(pid: number): string | undefined {
  try {
    return /^State:\s+(\S)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  } catch {
    return undefined;
  }
}

describe("a lock the kernel releases", () => {
  test("a lock file naming PID 1 (a previous container's server) does not block start-up", async () => {
    using dir = tempDir();
    const env = dirs(dir.path);
    writeLockFile(env.DATA_DIR, "1\n");
    writeLockFile(env.CONFIG_DIR, "1\n");
    await expectStartsAndServes(env);
  }, 30_000);

  test("a lock file naming a live process that holds no lock (the test runner) does not block start-up", async () => {
    using dir = tempDir();
    const env = dirs(dir.path);
    writeLockFile(env.DATA_DIR, `${process.pid}\n`);
    await expectStartsAndServes(env);
    // In process too: the file names this very process, and nothing holds the lock.
    writeLockFile(env.DATA_DIR, `${process.pid}\n`);
    const server = await startServer({ ...defaultConfig(), port: 0, host: "127.0.0.1", dataDir: env.DATA_DIR, configDir: env.CONFIG_DIR }, { report: () => {} });
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    await server.stop();
  }, 30_000);

  test("a killed server that is now an unreaped zombie does not block start-up", async () => {
    using dir = tempDir();
    const env = dirs(dir.path);
    // `exec sleep` replaces the shell, so the server's parent is a process that never reaps it.
    const parent = Bun.spawn(["sh", "-c", `bun run ${MAIN} > ${join(dir.path, "out")} 2>&1 & echo $!; exec sleep 60`], {
      env: { ...process.env, PORT: "0", HOST: "127.0.0.1", ...env },
      stdout: "pipe",
    });
    try {
      const reader = parent.stdout.getReader();
      const pid = Number.parseInt(new TextDecoder().decode((await reader.read()).value), 10);
      await waitFor(() => existsSync(join(dir.path, "out")) && readFileSync(join(dir.path, "out"), "utf8").includes("listening on"), 15_000, "the first server");
      process.kill(pid, "SIGKILL");
      await waitFor(() => processState(pid) === "Z", 5_000, "the killed server to become a zombie");
      expect(readFileSync(join(env.DATA_DIR, LOCK_FILE), "utf8")).toBe(`${pid}\n`);
      await expectStartsAndServes(env);
      expect(processState(pid)).toBe("Z");
    } finally {
      parent.kill("SIGKILL");
      await parent.exited;
    }
  }, 30_000);

  test("in a real PID namespace the server is PID 1; after kill -9 the next PID 1 starts", async () => {
    using dir = tempDir();
    const env = dirs(dir.path);
    const probe = Bun.spawnSync(["unshare", "--pid", "--fork", "--kill-child", "true"]);
    if (probe.exitCode !== 0) {
      console.warn(`skipped: this machine does not allow PID namespaces (unshare: ${probe.stderr.toString().trim()})`);
      return;
    }
    const command = ["unshare", "--pid", "--fork", "--kill-child", "bun", "run", MAIN];
    const first = await startServerProcess(env, command);
    expect(readFileSync(join(env.DATA_DIR, LOCK_FILE), "utf8")).toBe("1\n");
    await first.kill9(); // --kill-child: the namespace's PID 1 dies with unshare
    const second = await startServerProcess(env, command);
    expect((await fetch(`${second.url}/health`)).status).toBe(200);
    expect(readFileSync(join(env.DATA_DIR, LOCK_FILE), "utf8")).toBe("1\n");
    // unshare does not pass SIGTERM on to its child; --kill-child ends it with unshare.
    await second.kill9();
  }, 30_000);
});

describe("a live holder is always refused", () => {
  test("a second server on the same CONFIG_DIR (another DATA_DIR) exits 1 with one line naming the holder", async () => {
    using dir = tempDir();
    const env = dirs(dir.path);
    const first = await startServerProcess(env);
    try {
      const second = runToExit({ ...env, DATA_DIR: join(dir.path, "other-data") });
      expect(second).toEqual({
        code: 1,
        stderr: `event-store: CONFIG_DIR '${env.CONFIG_DIR}' is in use by process ${first.process.pid} (${join(env.CONFIG_DIR, LOCK_FILE)})\n`,
      });
    } finally {
      expect(await first.terminate()).toBe(0);
    }
  }, 30_000);

  test("two stores in one process on one DATA_DIR: the second is refused, and starts once the first stopped", async () => {
    using dir = tempDir();
    const env = dirs(dir.path);
    const config = { ...defaultConfig(), port: 0, host: "127.0.0.1", dataDir: env.DATA_DIR, configDir: env.CONFIG_DIR };
    const first = await startServer(config, { report: () => {} });
    const error = await rejection(startServer({ ...config, configDir: join(dir.path, "config-2") }, { report: () => {} }));
    expect(error).toBeInstanceOf(DataDirLockedError);
    expect((error as Error).message).toBe(`DATA_DIR '${env.DATA_DIR}' is in use by process ${process.pid} (${join(env.DATA_DIR, LOCK_FILE)})`);
    await first.stop();
    const second = await startServer(config, { report: () => {} });
    expect((await fetch(`${second.url}/health`)).status).toBe(200);
    await second.stop();
  }, 30_000);

  test("DATA_DIR and CONFIG_DIR may be the same directory", async () => {
    using dir = tempDir();
    await expectStartsAndServes({ DATA_DIR: dir.path, CONFIG_DIR: dir.path });
  }, 30_000);
});
