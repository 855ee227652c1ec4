import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

/** A server running as a child process, found through its `listening on <url>` line. */
export interface ServerProcess {
  readonly url: string;
  readonly pid: number;
  /** Milliseconds from spawn to the first 200 from GET /health. */
  readonly readyMs: number;
  /** Sends SIGTERM, waits for exit (SIGKILL after a deadline). */
  stop(): Promise<void>;
  /** `kill -9`: no shutdown, no goodbye; waits for exit. */
  kill(): Promise<void>;
}

export interface ServerCommand {
  /** What the table header says was measured. */
  label: string;
  argv: string[];
}

/**
 * The product as users run it: the compiled binary when built, else the
 * sources. `prefer: "src"` measures the work tree even when a (possibly
 * stale) binary exists.
 */
export function eventStoreCommand(repoDir: string, prefer: "dist" | "src" = "dist"): ServerCommand {
  const binary = join(repoDir, "dist", "event-store");
  if (prefer === "dist" && existsSync(binary)) return { label: "dist/event-store", argv: [binary] };
  return { label: "bun run src/main.ts", argv: [process.execPath, "run", join(repoDir, "src", "main.ts")] };
}

/** True when some file under src/ changed after the binary was built: the numbers would be of old code. */
export function binaryIsStale(repoDir: string, command: ServerCommand): boolean {
  if (command.label !== "dist/event-store") return false;
  const built = statSync(command.argv[0]!).mtimeMs;
  const src = join(repoDir, "src");
  return readdirSync(src, { recursive: true, withFileTypes: true }).some(
    (entry) => entry.isFile() && statSync(join(entry.parentPath, entry.name)).mtimeMs > built,
  );
}

export function ceilingCommand(benchDir: string): ServerCommand {
  return { label: "bench/ceiling.ts", argv: [process.execPath, "run", join(benchDir, "ceiling.ts")] };
}

const LISTENING = /listening on (http:\/\/\S+)/;
const live = new Set<ServerProcess>();

/**
 * Spawns the server on a free port of 127.0.0.1 and resolves once /health
 * answers 200. The URL comes from the server's own stdout line, so PORT=0
 * works and there is no port race.
 */
export async function startServer(
  command: ServerCommand,
  env: Record<string, string>,
  readyTimeoutMs = 120_000,
): Promise<ServerProcess> {
  const spawnedAt = performance.now();
  const child = Bun.spawn(command.argv, {
    env: { ...process.env, PORT: "0", HOST: "127.0.0.1", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const stderrTail: string[] = [];
  drain(child.stderr, (line) => {
    stderrTail.push(line);
    if (stderrTail.length > 20) stderrTail.shift();
  });
  const { promise: urlFound, resolve: foundUrl } = Promise.withResolvers<string | null>();
  drain(child.stdout, (line) => {
    const match = LISTENING.exec(line);
    if (match) foundUrl(match[1]!);
  });
  child.exited.then(() => foundUrl(null));

  const timeout = setTimeout(() => foundUrl(null), readyTimeoutMs);
  const url = await urlFound;
  clearTimeout(timeout);
  if (url === null) {
    child.kill("SIGKILL");
    throw new Error(`${command.label} did not start (exit ${child.exitCode}): ${stderrTail.join("\n")}`);
  }
  await waitHealthy(url, spawnedAt + readyTimeoutMs);
  const readyMs = performance.now() - spawnedAt;

  let stopping: Promise<void> | null = null;
  const server: ServerProcess = {
    url,
    pid: child.pid,
    readyMs,
    stop() {
      stopping ??= (async () => {
        live.delete(server);
        child.kill("SIGTERM");
        const killer = setTimeout(() => child.kill("SIGKILL"), 10_000);
        await child.exited;
        clearTimeout(killer);
      })();
      return stopping;
    },
    kill() {
      stopping ??= (async () => {
        live.delete(server);
        child.kill("SIGKILL");
        await child.exited;
      })();
      return stopping;
    },
  };
  live.add(server);
  return server;
}

/** Kills every server still running (on errors and Ctrl-C), so no child outlives the runner. */
export function killAllServers(): void {
  for (const server of live) void server.stop();
}

async function waitHealthy(url: string, deadline: number): Promise<void> {
  for (;;) {
    try {
      const res = await fetch(`${url}/health`);
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // Not accepting yet.
    }
    if (performance.now() > deadline) throw new Error(`${url}/health never answered 200`);
    await Bun.sleep(2);
  }
}

/** Reads a child's output line by line so its pipe never fills up and blocks it. */
async function drain(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void): Promise<void> {
  const decoder = new TextDecoder();
  let buffered = "";
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buffered += decoder.decode(value, { stream: true });
    let newline = buffered.indexOf("\n");
    while (newline !== -1) {
      onLine(buffered.slice(0, newline));
      buffered = buffered.slice(newline + 1);
      newline = buffered.indexOf("\n");
    }
  }
  if (buffered !== "") onLine(buffered);
}
