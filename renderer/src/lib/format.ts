/** Number formatting shared by the views: the core's (core/report/format.ts), so app, CLI and report.html agree. */
import { formatBytes, formatCount, formatMs } from '../../../core/report/format.ts';

/** Percent; n/a for null (a figure the run has not got: no plaintext reference), — while unknown. */
export const pct = (x: number | null | undefined): string =>
  x === null ? 'n/a' : typeof x === 'number' && Number.isFinite(x) ? `${(x * 100).toFixed(1)} %` : '—';
/** Milliseconds as ms / s / min. */
export const ms = (x: number | undefined): string => (typeof x === 'number' ? formatMs(x) : '—');
/** Bytes as B / KiB / MiB / GiB. */
export const bytes = (x: number | undefined): string => (typeof x === 'number' ? formatBytes(x) : '—');
export const int = (x: number | undefined): string => (typeof x === 'number' ? formatCount(x) : '—');
