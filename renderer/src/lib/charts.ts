/**
 * Chart.js data for the Run and Compare views, built from a RunRecord (live) or from
 * InferenceReports (compare). Plain objects only, so Chart.js never sees Svelte proxies.
 * Values are scaled to one readable unit per chart (B…GiB, ms or s); on a log axis a
 * zero has no place, so it becomes a gap (null) rather than a bar drawn wrong.
 */
import type { ChartData, ChartOptions } from 'chart.js';
import { byteUnit } from '../../../core/report/format.ts';
import { perImageCost } from '../../../core/report/ratios.ts';
import type { InferenceReport, Spread } from '../../../core/report/types.ts';
import { STAGES, type RunRecord } from './run-record.ts';

export const COLORS = {
  c2s: '#2b6cb0',
  s2c: '#dd6b20',
  wall: '#4a5568',
  client: '#2f855a',
  server: '#805ad5',
  accuracy: '#2f855a',
  agreement: '#c53030',
  level: '#2b6cb0',
  levelLeft: '#90cdf4',
  budget: '#c53030',
  spread: '#1a202c',
};
const PALETTE = ['#2b6cb0', '#dd6b20', '#2f855a', '#805ad5', '#c53030', '#319795', '#b7791f', '#4a5568'];

/** A chart's data with the unit its values are in (for the axis title). */
export interface ScaledChart<T extends 'bar' | 'line' = 'bar'> {
  data: ChartData<T>;
  unit: string;
  /** a log axis's floor: the power of ten below the smallest positive value (bars grow from it) */
  logMin?: number;
}

/** The power of ten at or below the smallest positive value, so every bar of a log chart has a height. */
export function logFloor(values: readonly (number | null | number[])[]): number | undefined {
  const flat = values.flatMap((v) => (Array.isArray(v) ? v : v === null ? [] : [v])).filter((v) => v > 0);
  return flat.length ? 10 ** Math.floor(Math.log10(Math.min(...flat))) : undefined;
}

/** Y-axis options of a scaled chart: log or linear, and the log floor. */
export function yAxis(chart: ScaledChart, log: boolean): ChartOptions<'bar'> {
  return {
    scales: {
      y: {
        type: log ? 'logarithmic' : 'linear',
        beginAtZero: !log,
        ...(log && chart.logMin !== undefined ? { min: chart.logMin } : {}),
      },
    },
  };
}

/** The unit for byte values: the binary one that keeps the largest readable. */
export function bytesScale(values: readonly number[]): { unit: string; divisor: number } {
  return byteUnit(Math.max(0, ...values.filter(Number.isFinite)));
}

/** The unit for millisecond values: s from 10 s up, else ms. */
export function timeScale(values: readonly number[]): { unit: string; divisor: number } {
  return Math.max(0, ...values.filter(Number.isFinite)) >= 10_000
    ? { unit: 's', divisor: 1000 }
    : { unit: 'ms', divisor: 1 };
}

/** `values / divisor`, with zeros as gaps on a log axis. */
function scaled(values: readonly number[], divisor: number, log: boolean): (number | null)[] {
  return values.map((v) => (log && !(v > 0) ? null : v / divisor));
}

/** Axis options for a value axis: linear from 0, or logarithmic (for time and bytes). */
export function valueAxis(title: string, log: boolean): ChartOptions<'bar'> {
  return {
    scales: { y: { type: log ? 'logarithmic' : 'linear', beginAtZero: !log, title: { display: true, text: title } } },
  };
}

/**
 * Ciphertext levels per layer, stacked: the levels the layer's preprocessing used on top
 * of what it left. 0 left is the plan, not a fault: parameters carry no spare prime, so
 * each layer's fresh ciphertexts end on the last one. `budget` (rescalings a fresh
 * ciphertext has) is drawn as a dashed line when known.
 */
export function levelChart(run: RunRecord, budget?: number): ChartData<'bar'> {
  const datasets: ChartData<'bar'>['datasets'] = [
    {
      label: 'levels used by the layer',
      data: run.layerLevels.map((l) => l.entry - l.left),
      backgroundColor: COLORS.level,
      stack: 'levels',
    },
    {
      label: 'levels left after it',
      data: run.layerLevels.map((l) => l.left),
      backgroundColor: COLORS.levelLeft,
      stack: 'levels',
    },
  ];
  if (budget !== undefined && run.layerLevels.length > 0) {
    datasets.push({
      type: 'line',
      label: `budget: ${budget} rescaling${budget === 1 ? '' : 's'} per fresh ciphertext`,
      data: run.layerLevels.map(() => budget),
      borderColor: COLORS.budget,
      backgroundColor: COLORS.budget,
      borderDash: [6, 4],
      borderWidth: 2,
      pointRadius: 0,
    } as unknown as ChartData<'bar'>['datasets'][number]);
  }
  return { labels: run.layerLevels.map((l) => l.layer), datasets };
}

/** The rescaling budget of a report's CKKS parameters: primes less the special and the last one. */
export function levelBudget(r: InferenceReport | undefined): number | undefined {
  return r?.ckks ? Math.max(0, r.ckks.coeffModulusBits.length - 2) : undefined;
}

/** The note under the level chart: what the budget line means, or how to read the bars without one. */
export function levelNote(budget: number | undefined): string {
  if (budget === undefined)
    return (
      'Levels the layer used (dark) on top of what it left (light); 0 left means it spent the whole budget, ' +
      'which the parameters are sized for.'
    );
  return (
    `Each layer starts from fresh ciphertexts with ${budget} rescaling${budget === 1 ? '' : 's'} of budget ` +
    '(dashed line) and spends them; 0 left is by design: the parameters carry no spare prime.'
  );
}

/** Stages of the Run charts: key setup gets its own bar once the report has it. */
interface StageRow {
  name: string;
  wallMs?: number;
  c2s: number;
  s2c: number;
  clientMs?: number;
  serverMs?: number;
}

function runStages(run: RunRecord): StageRow[] {
  const r = run.report;
  const rows: StageRow[] = STAGES.map((s) => ({
    name: s,
    c2s: run.stages[s].bytesClientToServer,
    s2c: run.stages[s].bytesServerToClient,
    ...(run.stages[s].wallMs !== undefined ? { wallMs: run.stages[s].wallMs } : {}),
    ...(r?.stages[s] ? { clientMs: r.stages[s].clientMs, serverMs: r.stages[s].serverMs } : {}),
  }));
  const setup = r?.stages.setup;
  if (setup) {
    rows.splice(1, 0, {
      name: 'key setup',
      wallMs: setup.wallMs,
      c2s: setup.bytesClientToServer,
      s2c: setup.bytesServerToClient,
      clientMs: setup.clientMs,
      serverMs: setup.serverMs,
    });
  }
  return rows;
}

/** Bytes sent per stage, client→server and server→client, in one scaled unit. */
export function bytesChart(run: RunRecord, log = false): ScaledChart {
  const rows = runStages(run);
  const { unit, divisor } = bytesScale(rows.flatMap((s) => [s.c2s, s.s2c]));
  const datasets: ChartData<'bar'>['datasets'] = [
    {
      label: 'client → server',
      data: scaled(
        rows.map((s) => s.c2s),
        divisor,
        log,
      ),
      backgroundColor: COLORS.c2s,
    },
    {
      label: 'server → client',
      data: scaled(
        rows.map((s) => s.s2c),
        divisor,
        log,
      ),
      backgroundColor: COLORS.s2c,
    },
  ];
  return withFloor({ unit, data: { labels: rows.map((s) => s.name), datasets } });
}

/** Wall-clock time per finished stage; client/server split once the report is in. */
export function timeChart(run: RunRecord, log = false): ScaledChart {
  const rows = runStages(run);
  const r = run.report;
  const { unit, divisor } = timeScale(rows.map((s) => s.wallMs ?? 0));
  const datasets: ChartData<'bar'>['datasets'] = [
    {
      label: 'wall clock',
      data: scaled(
        rows.map((s) => s.wallMs ?? 0),
        divisor,
        log,
      ),
      backgroundColor: COLORS.wall,
    },
  ];
  if (r) {
    datasets.push({
      label: 'client',
      data: scaled(
        rows.map((s) => s.clientMs ?? 0),
        divisor,
        log,
      ),
      backgroundColor: COLORS.client,
    });
    datasets.push({
      label: 'server',
      data: scaled(
        rows.map((s) => s.serverMs ?? 0),
        divisor,
        log,
      ),
      backgroundColor: COLORS.server,
    });
  }
  return withFloor({ unit, data: { labels: rows.map((s) => s.name), datasets } });
}

function withFloor(c: ScaledChart): ScaledChart {
  const floor = logFloor(c.data.datasets.flatMap((d) => d.data as (number | null | number[])[]));
  return floor === undefined ? c : { ...c, logMin: floor };
}

/**
 * Running accuracy and secure/plaintext agreement (percent) after each image. Agreement
 * is listed (and so drawn) first, dashed and on top: it usually equals the accuracy
 * line, and must stay visible over it.
 */
export function accuracyChart(run: RunRecord): ChartData<'line'> {
  return {
    labels: run.accuracy.map((_, i) => String(i + 1)),
    datasets: [
      {
        label: 'agreement with plaintext',
        data: run.agreement.map((a) => (a === null ? null : a * 100)),
        borderColor: COLORS.agreement,
        backgroundColor: COLORS.agreement,
        pointRadius: 2,
        borderWidth: 2,
        borderDash: [6, 4],
        order: 0,
      },
      {
        label: 'accuracy',
        data: run.accuracy.map((a) => a * 100),
        borderColor: COLORS.accuracy,
        backgroundColor: COLORS.accuracy,
        pointRadius: 3,
        borderWidth: 5,
        order: 1,
      },
    ],
  };
}

/** Legend options for clean swatches: small filled squares (lines get their point style). */
export const LEGEND_SWATCHES: ChartOptions = {
  plugins: { legend: { labels: { boxWidth: 12, boxHeight: 12, usePointStyle: true, pointStyle: 'rectRounded' } } },
};

/** Short name of a report for legends and table headers: its label when it has one. */
export function reportLabel(r: InferenceReport, i: number): string {
  return r.label ?? `${i + 1}. ${r.scheme} · ${r.model} · ${r.images} img${r.server ? ' · remote' : ''}`;
}

/**
 * One bar per report for a per-image figure (compare view), in one scaled unit. With
 * `spread`, reports measured over repeats also get a thin floating bar from min to max
 * beside their median.
 */
export function compareChart(
  reports: readonly InferenceReport[],
  what: string,
  value: (r: InferenceReport) => number,
  o: { kind?: 'time' | 'bytes' | 'percent'; log?: boolean; spread?: (r: InferenceReport) => Spread | undefined } = {},
): ScaledChart {
  const values = reports.map(value);
  const spreads = reports.map((r) => o.spread?.(r));
  const all = [...values, ...spreads.flatMap((s) => (s ? [s.max] : []))];
  const { unit, divisor } =
    o.kind === 'bytes' ? bytesScale(all) : o.kind === 'time' ? timeScale(all) : { unit: '%', divisor: 1 };
  const log = o.log === true && o.kind !== 'percent';
  const datasets: ChartData<'bar'>['datasets'] = [
    {
      label: `${what} (median)`,
      data: scaled(values, divisor, log),
      backgroundColor: reports.map((_, i) => PALETTE[i % PALETTE.length]!),
    },
  ];
  if (spreads.some((s) => s !== undefined)) {
    datasets.push({
      label: 'spread over repeats (min – max)',
      backgroundColor: COLORS.spread,
      barPercentage: 0.15,
      grouped: false,
      data: spreads.map((s) => (s ? [s.min / divisor, s.max / divisor] : null)) as unknown as number[],
    } as ChartData<'bar'>['datasets'][number]);
  }
  return withFloor({ unit, data: { labels: reports.map(reportLabel), datasets } });
}

/** Accuracy and agreement of each report side by side (percent). */
export function qualityChart(reports: readonly InferenceReport[]): ChartData<'bar'> {
  return {
    labels: reports.map(reportLabel),
    datasets: [
      { label: 'accuracy', data: reports.map((r) => r.accuracy * 100), backgroundColor: COLORS.accuracy },
      {
        label: 'agreement with plaintext',
        data: reports.map((r) => (r.agreement === null ? null : r.agreement * 100)),
        backgroundColor: COLORS.agreement,
      },
    ],
  };
}

/** The per-image figures Compare draws (medians over repeats where a report has them). */
export const perImage = perImageCost;
