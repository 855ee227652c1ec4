import { join } from "node:path";

const ROOT = join(import.meta.dir, "..");

export interface ServerProcess {
  url: string;
  process: ReturnType<typeof Bun.spawn>;
  /** `kill -9`: no flush, no goodbye. */
  kill9(): Promise<void>;
  /** SIGTERM and wait for the exit code. */
  terminate(): Promise<number>;
}

/**
 * Starts `bun run src/main.ts` (or `command`) as a real child process on a
 * free port and resolves once it prints the URL it listens on.
 */
export async function startServerProcess(
  env: Record<string, string>,
  command: string[] = ["bun", "run", join(ROOT, "src/main.ts")],
): Promise<ServerProcess> {
  const child = Bun.spawn(command, {
    env: { ...process.env, PORT: "0", HOST: "127.0.0.1", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const stderr = drainStderr(child.stderr as ReadableStream<Uint8Array>);
  const url = await readListeningUrl(child, stderr);
  return {
    url,
    process: child,
    async kill9() {
      child.kill("SIGKILL");
      await child.exited;
    },
    async terminate() {
      child.kill("SIGTERM");
      return child.exited;
    },
  };
}

/**
 * Reads the child's stderr for as long as it runs, keeping the last 64 KiB:
 * the server writes warnings there (a cluster node's lost NATS connections,
 * 503s), and a full pipe would block it.
 */
function drainStderr(stream: ReadableStream<Uint8Array>): Promise<string> {
  return (async () => {
    const decoder = new TextDecoder();
    let tail = "";
    const reader = stream.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return tail;
      tail = (tail + decoder.decode(value, { stream: true })).slice(-65_536);
    }
  })();
}

async function readListeningUrl(child: ReturnType<typeof Bun.spawn>, stderr: Promise<string>): Promise<string> {
  const reader = (child.stdout as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let seen = "";
  const deadline = setTimeout(() => child.kill("SIGKILL"), 60_000);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        throw new Error(`server exited before listening: ${seen}${await stderr}`);
      }
      seen += decoder.decode(value, { stream: true });
      const match = /listening on (http:\/\/\S+)/.exec(seen);
      if (match) {
        // Keep draining stdout so the child never blocks on a full pipe.
        void (async () => {
          while (!(await reader.read()).done);
        })();
        return match[1]!;
      }
    }
  } finally {
    clearTimeout(deadline);
  }
}
