/** Number formatting shared by the views. */
export const pct = (x: number | undefined): string => (typeof x === 'number' && Number.isFinite(x) ? `${(x * 100).toFixed(1)} %` : '—');
export const ms = (x: number | undefined): string => (typeof x === 'number' ? (x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(1)} ms`) : '—');
/** Bytes as B / KiB / MiB. */
export function bytes(x: number | undefined): string {
  if (typeof x !== 'number') return '—';
  if (x < 1024) return `${Math.round(x)} B`;
  if (x < 1024 * 1024) return `${(x / 1024).toFixed(1)} KiB`;
  return `${(x / 1048576).toFixed(2)} MiB`;
}
export const int = (x: number | undefined): string => (typeof x === 'number' ? Math.round(x).toLocaleString('en-US') : '—');
