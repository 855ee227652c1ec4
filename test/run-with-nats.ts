/**
 * `bun run test:nats`: starts a real nats-server (JetStream, temp dir,
 * loopback) and runs the given test files in cluster mode against it
 * (TEST_NATS_URL, see test/utils.ts), then stops it.
 */
import { startNats } from "./nats-server.ts";

const nats = await startNats(1);
let code = 1;
try {
  const child = Bun.spawn(["bun", "test", ...process.argv.slice(2)], { env: { ...process.env, TEST_NATS_URL: nats.urls[0]! }, stdout: "inherit", stderr: "inherit" });
  code = await child.exited;
} finally {
  await nats.stop();
}
process.exit(code);
