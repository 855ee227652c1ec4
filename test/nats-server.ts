/**
 * Real nats-server processes for the cluster-mode tests: one server, or a
 * 3-node JetStream cluster, on loopback, each with its own temp store dir;
 * stopped by pid. No mocks of NATS. `restart()` brings a stopped or killed
 * cluster back on the same dirs and ports (the crash and restart tests).
 *
 * When no nats-server binary is found, `natsServerBinary()` is null and the
 * tests skip — except in CI (CI=true), where `requireNatsServer()` fails them
 * instead, so a missing server can never pass silently (.ci/run installs
 * Debian's nats-server).
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";

/** The nats-server to run: NATS_SERVER_BIN when set (a path that does not exist counts as none), else PATH, else Debian's. */
export function natsServerBinary(): string | null {
  const pinned = process.env.NATS_SERVER_BIN;
  if (pinned !== undefined) return existsSync(pinned) ? pinned : null;
  const found = Bun.which("nats-server");
  if (found) return found;
  for (const path of ["/usr/sbin/nats-server", "/usr/bin/nats-server"]) if (existsSync(path)) return path;
  return null;
}

/** Whether the NATS tests run here; throws in CI when nats-server is missing. */
export function requireNatsServer(): boolean {
  if (natsServerBinary() !== null) return true;
  if (process.env.CI === "true" || process.env.CI === "1") throw new Error("nats-server is not installed: CI must run the cluster-mode tests (apt-get install -y nats-server)");
  // Outside CI the cluster-mode tests skip, and say so: a skipped suite must never look like a passing one.
  console.warn("cluster-mode tests skipped: nats-server is not installed (apt-get install -y nats-server; CI=true makes this a failure)");
  return false;
}

export interface NatsServerProcess {
  url: string;
  /** The running process's pid (a new one after `restart`). */
  readonly pid: number;
  /** SIGKILL: the process dies without a clean shutdown. */
  kill(): Promise<void>;
  stop(): Promise<void>;
  /**
   * Starts the server again after `kill` or `stop`, in place: same client
   * port (so `url` and every NATS_URL stay valid), same cluster port and
   * routes, same store dir, so it rejoins the cluster with its JetStream data.
   */
  restart(): Promise<void>;
}

export interface NatsCluster extends AsyncDisposable {
  /** The servers; each can be killed and restarted in place. */
  servers: NatsServerProcess[];
  /** Every client URL, comma-separated, as NATS_URL takes it. */
  urls: string[];
  /**
   * Starts every server again, after the caller stopped or killed them all,
   * on the same store dirs, names and client and route ports (so `urls`
   * stay valid), and waits until JetStream answers again.
   */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** A free loopback port (bound then released; the cluster's route ports must be known before the servers start). */
async function freePort(): Promise<number> {
  const { promise, resolve, reject } = Promise.withResolvers<number>();
  const server = createServer();
  server.once("error", reject);
  server.listen(0, "127.0.0.1", () => {
    const address = server.address();
    const port = typeof address === "object" && address !== null ? address.port : 0;
    server.close(() => resolve(port));
  });
  return promise;
}

async function spawnServer(args: string[], dir: string, port: number): Promise<{ child: Bun.Subprocess<"ignore", "ignore", "pipe">; url: string }> {
  const binary = natsServerBinary();
  if (binary === null) throw new Error("nats-server is not installed");
  const child = Bun.spawn([binary, "-a", "127.0.0.1", "-p", String(port), "-js", "-sd", dir, ...args], { stdout: "ignore", stderr: "pipe" });
  const reader = child.stderr.getReader();
  const decoder = new TextDecoder();
  let log = "";
  const deadline = Date.now() + 15_000;
  let url: string | null = null;
  while (url === null || !log.includes("Server is ready")) {
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`nats-server did not start:\n${log}`);
    }
    const { value, done } = await reader.read();
    if (done) throw new Error(`nats-server exited:\n${log}`);
    log += decoder.decode(value);
    url ??= /Listening for client connections on (127\.0\.0\.1:\d+)/.exec(log)?.[1] ?? null;
  }
  // Keep draining stderr so the server never blocks on a full pipe.
  void (async () => {
    for (;;) if ((await reader.read().catch(() => ({ done: true }))).done) return;
  })();
  return { child, url: `nats://${url}` };
}

async function startProcess(args: string[], dir: string): Promise<NatsServerProcess> {
  const first = await spawnServer(args, dir, -1);
  const url = first.url;
  let child = first.child;
  const port = Number(url.slice(url.lastIndexOf(":") + 1));
  return {
    url,
    get pid() {
      return child.pid;
    },
    async kill() {
      child.kill("SIGKILL");
      await child.exited;
    },
    async stop() {
      child.kill("SIGTERM");
      await child.exited;
    },
    async restart() {
      if (child.exitCode === null && child.signalCode === null) throw new Error(`nats-server ${url} is still running`);
      ({ child } = await spawnServer(args, dir, port));
    },
  };
}

/** Waits until JetStream answers through `urls` (a cluster elects its meta leader first). */
async function waitForJetStream(urls: string[], replicas: number): Promise<void> {
  const connection = await connect({ servers: urls });
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        const manager = await jetstreamManager(connection, { timeout: 2_000 });
        // A throwaway stream at the wanted replica count proves the cluster can place one.
        const name = `probe_${Math.random().toString(36).slice(2)}`;
        await manager.streams.add({ name, subjects: [`${name}.x`], num_replicas: replicas });
        await manager.streams.delete(name);
        return;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await Bun.sleep(100);
      }
    }
  } finally {
    await connection.close();
  }
}

/** Starts `size` nats-servers (1: a single server; 3: a JetStream cluster with routes on loopback). */
export async function startNats(size: 1 | 3 = 1): Promise<NatsCluster> {
  const root = mkdtempSync(join(tmpdir(), "event-store-nats-"));
  const servers: NatsServerProcess[] = [];
  const stop = async () => {
    await Promise.all(servers.map((server) => server.stop()));
    rmSync(root, { recursive: true, force: true });
  };
  try {
    // What each server is started with; a restart passes the same again, with the client port it got.
    let specs: { args: string[]; dir: string }[] = [{ args: [], dir: join(root, "n1") }];
    if (size === 3) {
      const ports = [await freePort(), await freePort(), await freePort()];
      const routes = ports.map((port) => `nats://127.0.0.1:${port}`).join(",");
      specs = ports.map((port, i) => ({
        args: ["--name", `n${i + 1}`, "--cluster_name", "es", "--cluster", `nats://127.0.0.1:${port}`, "--routes", routes],
        dir: join(root, `n${i + 1}`),
      }));
    }
    servers.push(...(await Promise.all(specs.map((spec) => startProcess(spec.args, spec.dir)))));
    const urls = servers.map((server) => server.url);
    await waitForJetStream(urls, size);
    const restart = async () => {
      await Promise.all(servers.map((server) => server.restart()));
      await waitForJetStream(urls, size);
    };
    return { servers, urls, restart, stop, [Symbol.asyncDispose]: stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
