/**
 * Figures for people, one way for the CLI summary, report.html and the app: integers as
 * integers, sizes in B/KiB/MiB/GiB, times in ms or s, "n/a" for a figure a run does not
 * have, a seed that says "random (OS CSPRNG)" instead of −1. Pure; safe in the browser.
 */
import type { BenchReport, Spread } from './types.ts';

/** The text shown for a figure a run does not have. */
export const NA = 'n/a';

/** Numbers: thousands separators for big ones, 1–2 decimals for small ones, integers as integers. */
export function formatNumber(v: number | undefined | null): string {
  if (v === undefined || v === null || !Number.isFinite(v)) return v === Number.POSITIVE_INFINITY ? '∞' : NA;
  const a = Math.abs(v);
  if (Number.isInteger(v) || a >= 1000) return Math.round(v).toLocaleString('en-US');
  if (a >= 10) return v.toFixed(1);
  if (a >= 0.01) return v.toFixed(2);
  return v.toExponential(2);
}

/** A count (operations, messages, rounds, images): always an integer. */
export function formatCount(v: number | undefined | null): string {
  return v === undefined || v === null || !Number.isFinite(v) ? NA : Math.round(v).toLocaleString('en-US');
}

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const;

/** The binary unit that keeps `bytes` readable (1023 B, 1.5 KiB, 70.3 MiB…) and its divisor. */
export function byteUnit(bytes: number): { unit: string; divisor: number } {
  let k = 0;
  while (k < BYTE_UNITS.length - 1 && Math.abs(bytes) >= 1024 ** (k + 1)) k++;
  return { unit: BYTE_UNITS[k]!, divisor: 1024 ** k };
}

/** Bytes in B / KiB / MiB / GiB with 3 significant figures. */
export function formatBytes(bytes: number | undefined | null): string {
  if (bytes === undefined || bytes === null || !Number.isFinite(bytes)) return NA;
  const { unit, divisor } = byteUnit(bytes);
  if (divisor === 1) return `${Math.round(bytes)} B`;
  const v = bytes / divisor;
  return `${Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2)} ${unit}`;
}

/** Milliseconds as "850 ms", "12.3 ms", "0.42 ms" or, from 1 s, "3.24 s" / "1 min 5 s". */
export function formatMs(ms: number | undefined | null): string {
  if (ms === undefined || ms === null || !Number.isFinite(ms)) return NA;
  const a = Math.abs(ms);
  if (ms === 0) return '0 ms';
  if (a >= 60_000) return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
  if (a >= 1000) return `${(ms / 1000).toFixed(a >= 10_000 ? 1 : 2)} s`;
  if (a >= 100) return `${ms.toFixed(0)} ms`;
  if (a >= 10) return `${ms.toFixed(1)} ms`;
  return `${ms.toFixed(2)} ms`;
}

/** A ratio as "1.90×", "∞", or n/a. */
export function formatRatio(r: number | undefined | null): string {
  if (r === undefined || r === null || Number.isNaN(r)) return NA;
  return r === Number.POSITIVE_INFINITY ? '∞' : `${r.toFixed(2)}×`;
}

/** "min – median – max" of a spread, through `format`. */
export function formatSpread(s: Spread | undefined, format: (v: number) => string = formatMs): string {
  return s ? `${format(s.min)} – ${format(s.median)} – ${format(s.max)}` : NA;
}

/** A mask seed: the number, or what it means when there was none (negative: OS CSPRNG). */
export function formatSeed(seed: number | undefined | null): string {
  if (seed === undefined || seed === null || !Number.isFinite(seed) || seed < 0) return 'random (OS CSPRNG)';
  return String(seed);
}

/** One line about the machine: "Intel Xeon … (2 cores), linux x64, 23.4 GiB, Node v22.23.0", or "not recorded". */
export function formatMachine(m: BenchReport['machine']): string {
  if (m.cpus === 0 && m.cpuModel === 'unknown' && m.node === 'unknown')
    return 'not recorded (a single inference report carries no machine)';
  const parts = [
    `${m.cpuModel === 'unknown' ? 'unknown CPU' : m.cpuModel} ` +
      `(${m.cpus > 0 ? `${m.cpus} logical cores` : 'cores unknown'})`,
  ];
  parts.push(`${m.platform} ${m.arch}`);
  if (m.memoryBytes > 0) parts.push(formatBytes(m.memoryBytes));
  parts.push(`Node ${m.node}`);
  return parts.join(', ');
}
