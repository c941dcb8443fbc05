/**
 * Progress on stderr, never on stdout (which stays clean for --json):
 * - on a terminal, a one-line bar redrawn at most every 100 ms, with an ETA;
 * - elsewhere (CI logs, pipes, tests), one plain line per stage, layer and image event,
 *   so a long preprocessing is visible line by line instead of a silent wait.
 */
import { formatMs } from '../report/format.ts';
import type { ProgressEvent } from '../report/types.ts';
import type { CliIO } from './command.ts';

/** A one-line progress bar, drawn only on a TTY; `done()` finishes the line. */
export class ProgressBar {
  private last = 0;
  private started = Date.now();
  private drawn = false;
  private readonly enabled: boolean;
  private readonly write: (s: string) => void;
  private readonly label: string;
  private total: number;
  constructor(label: string, total: number, opts: { isTTY: boolean; write?: (s: string) => void }) {
    this.label = label;
    this.total = total;
    this.enabled = opts.isTTY;
    this.write = opts.write ?? ((s) => process.stderr.write(s));
  }
  /** Redraw with `done` of the total; `note` follows the figures. `eta` overrides the estimate (ms). */
  update(done: number, note = '', eta?: number): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.last < 100 && done < this.total) return;
    this.last = now;
    const frac = this.total > 0 ? Math.min(1, done / this.total) : 0;
    const width = 28;
    const filled = Math.round(frac * width);
    const secs = (now - this.started) / 1000;
    const etaMs = eta ?? (frac > 0 ? (secs / frac - secs) * 1000 : undefined);
    const etaText = etaMs === undefined ? 'eta –' : `eta ${formatMs(etaMs)}`;
    this.write(
      `\r${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${this.total} ` +
        `${(frac * 100).toFixed(0)}% ${secs.toFixed(0)}s ${etaText} ${note}\x1b[K`,
    );
    this.drawn = true;
  }
  /** Start counting again from 0 of `total` (a new phase), restarting the clock for the ETA. */
  reset(total: number): void {
    this.total = total;
    this.started = Date.now();
    this.last = 0;
  }
  /** Clear the bar's line so a message can be printed; the next update redraws it. */
  pause(): void {
    if (this.enabled && this.drawn) this.write('\r\x1b[K');
    this.drawn = false;
  }
  done(): void {
    if (this.enabled && this.drawn) this.write('\n');
    this.drawn = false;
  }
}

/**
 * Plain stderr lines for the session events when stderr is not a terminal: stage start
 * and end, each preprocessed layer (with an ETA), each image. On a terminal it prints
 * nothing (the bar shows the same); `force` prints anyway.
 */
export class StageLines {
  private readonly io: Pick<CliIO, 'err' | 'isTTY'>;
  private readonly force: boolean;
  private batchStart = 0;
  private imagesTotal = 0;
  private preprocessed = 0;
  constructor(io: Pick<CliIO, 'err' | 'isTTY'>, force = false) {
    this.io = io;
    this.force = force;
  }
  /** The line for `ev` (without the prefix), or undefined for events that get none. */
  line(ev: ProgressEvent): string | undefined {
    switch (ev.type) {
      case 'stage':
        if (ev.stage === 'preprocessing' && ev.state === 'start') this.batchStart = Date.now();
        return `stage ${ev.stage} ${ev.state}${ev.wallMs !== undefined ? ` (${formatMs(ev.wallMs)})` : ''}`;
      case 'layer-progress': {
        const eta = ev.etaMs ?? this.etaFromElapsed(ev.index, ev.total, ev.imagesInBatch);
        if (ev.index + 1 === ev.total) this.batchStart = Date.now();
        return (
          `preprocessing layer ${ev.index + 1}/${ev.total} ${ev.layer} (${ev.imagesInBatch} ` +
          `images)${eta !== undefined ? ` eta ${formatMs(eta)}` : ''}`
        );
      }
      case 'layer':
        return (
          `${ev.stage} layer ${ev.index + 1}/${ev.total} ` +
          `${ev.layer}${ev.levels?.length ? ` (levels left ` + `${Math.min(...ev.levels)})` : ''}`
        );
      case 'progress':
        this.imagesTotal = ev.imagesTotal;
        if (ev.stage === 'preprocessing') this.preprocessed = ev.imagesDone;
        return ev.stage === 'preprocessing' ? `preprocessing ${ev.imagesDone}/${ev.imagesTotal} images` : undefined;
      case 'image':
        return (
          `image ${ev.result.index + 1}${this.imagesTotal ? `/${this.imagesTotal}` : ''}: label ` +
          `${ev.result.label}, secure ${ev.result.secure}, plaintext ${ev.result.plaintext}`
        );
      default:
        return undefined;
    }
  }
  /** Print `ev`'s line (prefixed by `who`, e.g. the scheme) unless stderr is a terminal. */
  event(ev: ProgressEvent, who?: string): void {
    const text = this.line(ev);
    if (text === undefined || (this.io.isTTY && !this.force)) return;
    this.io.err(who ? `[${who}] ${text}` : text);
  }
  /** Rest of this batch at its pace so far, plus the batches still to come at the same pace per image. */
  private etaFromElapsed(index: number, total: number, imagesInBatch: number): number | undefined {
    if (this.batchStart === 0) return undefined;
    const perLayer = (Date.now() - this.batchStart) / (index + 1);
    const later = Math.max(0, this.imagesTotal - this.preprocessed - imagesInBatch);
    return perLayer * (total - index - 1) + (later / Math.max(1, imagesInBatch)) * perLayer * total;
  }
}
