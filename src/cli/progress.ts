/** Least time between two redraws, in ms. */
const REDRAW_MS = 100;
const WIDTH = 30;

/**
 * A one-line progress bar on stderr (only drawn on a terminal): events sent,
 * rate, and — when the input's size is known — a bar by bytes read.
 */
export class ProgressBar {
  private lastDraw = 0;
  private readonly started = performance.now();

  constructor(
    private readonly write: (text: string) => void,
    private readonly totalBytes: number | null,
  ) {}

  update(events: number, bytes: number, force = false): void {
    const now = performance.now();
    if (!force && now - this.lastDraw < REDRAW_MS) return;
    this.lastDraw = now;
    const seconds = (now - this.started) / 1000;
    const rate = seconds > 0 ? Math.round(events / seconds) : 0;
    let bar = "";
    if (this.totalBytes !== null && this.totalBytes > 0) {
      const share = Math.min(1, bytes / this.totalBytes);
      const filled = Math.round(share * WIDTH);
      bar = `[${"#".repeat(filled)}${".".repeat(WIDTH - filled)}] ${(share * 100).toFixed(0).padStart(3)}% `;
    }
    this.write(`\r${bar}${events.toLocaleString("en-US")} events, ${rate.toLocaleString("en-US")}/s`);
  }

  done(events: number, bytes: number): void {
    this.update(events, bytes, true);
    this.write("\n");
  }
}
