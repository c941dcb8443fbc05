/**
 * A one-line progress bar on stderr, drawn only on a TTY (never pollutes --json stdout or
 * CI logs). Redraws at most every 100 ms; `done()` finishes the line.
 */
export class ProgressBar {
  private last = 0;
  private readonly started = Date.now();
  private readonly enabled: boolean;
  private readonly write: (s: string) => void;
  private readonly label: string;
  private readonly total: number;
  constructor(label: string, total: number, opts: { isTTY: boolean; write?: (s: string) => void }) {
    this.label = label;
    this.total = total;
    this.enabled = opts.isTTY;
    this.write = opts.write ?? ((s) => process.stderr.write(s));
  }
  update(done: number, note = ''): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.last < 100 && done < this.total) return;
    this.last = now;
    const frac = this.total > 0 ? Math.min(1, done / this.total) : 0;
    const width = 28;
    const filled = Math.round(frac * width);
    const secs = (now - this.started) / 1000;
    const eta = frac > 0 ? secs / frac - secs : 0;
    this.write(`\r${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${this.total} ${(frac * 100).toFixed(0)}% ${secs.toFixed(0)}s eta ${eta.toFixed(0)}s ${note}\x1b[K`);
  }
  done(): void {
    if (this.enabled) this.write('\n');
  }
}
