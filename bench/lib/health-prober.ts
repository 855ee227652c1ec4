/**
 * A process of its own that sends GET /health back to back and reports the
 * longest wait, so a stall measured is the server's: the runner's own work
 * for the request under test (building a megabyte body, sending it, reading
 * the answer) would otherwise hold up a prober on its event loop too.
 *
 *   bun bench/lib/health-prober.ts <url>
 *   stdin "start\n" → probing begins; "stop\n" → prints the longest wait in ms, one line
 */
const url = `${process.argv[2]}/health`;
let probing = false;
let worst = 0;

async function probe(): Promise<void> {
  while (probing) {
    const started = performance.now();
    await (await fetch(url)).arrayBuffer();
    worst = Math.max(worst, performance.now() - started);
  }
}

let running: Promise<void> = Promise.resolve();
let pending = "";
const input = Bun.stdin.stream().pipeThrough(new TextDecoderStream()).getReader();
for (;;) {
  const { value, done } = await input.read();
  if (done) break;
  pending += value;
  let newline: number;
  while ((newline = pending.indexOf("\n")) >= 0) {
    const command = pending.slice(0, newline).trim();
    pending = pending.slice(newline + 1);
    if (command === "start") {
      worst = 0;
      probing = true;
      running = probe();
    } else if (command === "stop") {
      probing = false;
      await running;
      process.stdout.write(`${worst}\n`);
    }
  }
}
