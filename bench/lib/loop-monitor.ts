/**
 * Preloaded into the server by the stall section (`bun --preload`): the
 * longest the server's event loop went without running a 1 ms timer, read
 * (and reset) over a listener of its own on 127.0.0.1. It is the block a
 * request caused as the server saw it, free of the runner's and the
 * prober's own scheduling; timers make its floor a few milliseconds.
 *
 *   LOOP_MONITOR_URL_FILE=<file>  where the listener's URL is written
 */
import { writeFileSync } from "node:fs";

let last = performance.now();
let longest = 0;
setInterval(() => {
  const now = performance.now();
  longest = Math.max(longest, now - last);
  last = now;
}, 1).unref();

const monitor = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  fetch() {
    const answer = Response.json({ longestMs: Math.max(longest, performance.now() - last) });
    longest = 0;
    return answer;
  },
});
monitor.unref();
const urlFile = process.env.LOOP_MONITOR_URL_FILE;
if (urlFile) writeFileSync(urlFile, `http://127.0.0.1:${monitor.port}`);
