/**
 * Chart.js data for the Run and Compare views, built from a RunRecord (live) or from
 * InferenceReports (compare). Plain objects only, so Chart.js never sees Svelte proxies.
 */
import type { ChartData } from 'chart.js';
import type { InferenceReport } from '../../../core/report/types.ts';
import { STAGES, type RunRecord } from './run-record.ts';

export const COLORS = { c2s: '#2b6cb0', s2c: '#dd6b20', wall: '#4a5568', client: '#2f855a', server: '#805ad5', accuracy: '#2f855a', agreement: '#c53030', level: '#2b6cb0', levelLeft: '#90cdf4' };
const PALETTE = ['#2b6cb0', '#dd6b20', '#2f855a', '#805ad5', '#c53030', '#319795', '#b7791f', '#4a5568'];

/** Ciphertext level per layer: on entry and what is left after it (0 = chain exhausted). */
export function levelChart(run: RunRecord): ChartData<'bar'> {
  return {
    labels: run.layerLevels.map((l) => l.layer),
    datasets: [
      { label: 'level on entry', data: run.layerLevels.map((l) => l.entry), backgroundColor: COLORS.level },
      { label: 'level left after the layer', data: run.layerLevels.map((l) => l.left), backgroundColor: COLORS.levelLeft },
    ],
  };
}

/** KiB sent per stage, client→server and server→client. */
export function bytesChart(run: RunRecord): ChartData<'bar'> {
  return {
    labels: [...STAGES],
    datasets: [
      { label: 'client → server (KiB)', data: STAGES.map((s) => run.stages[s].bytesClientToServer / 1024), backgroundColor: COLORS.c2s },
      { label: 'server → client (KiB)', data: STAGES.map((s) => run.stages[s].bytesServerToClient / 1024), backgroundColor: COLORS.s2c },
    ],
  };
}

/** Wall-clock ms per finished stage; client/server split once the report is in. */
export function timeChart(run: RunRecord): ChartData<'bar'> {
  const r = run.report;
  const datasets: ChartData<'bar'>['datasets'] = [
    { label: 'wall clock (ms)', data: STAGES.map((s) => run.stages[s].wallMs ?? 0), backgroundColor: COLORS.wall },
  ];
  if (r) {
    datasets.push({ label: 'client (ms)', data: STAGES.map((s) => r.stages[s]?.clientMs ?? 0), backgroundColor: COLORS.client });
    datasets.push({ label: 'server (ms)', data: STAGES.map((s) => r.stages[s]?.serverMs ?? 0), backgroundColor: COLORS.server });
  }
  return { labels: [...STAGES], datasets };
}

/** Running accuracy and secure/plaintext agreement (percent) after each image. */
export function accuracyChart(run: RunRecord): ChartData<'line'> {
  return {
    labels: run.accuracy.map((_, i) => String(i + 1)),
    datasets: [
      { label: 'accuracy (%)', data: run.accuracy.map((a) => a * 100), borderColor: COLORS.accuracy, backgroundColor: COLORS.accuracy, pointRadius: 2 },
      { label: 'agreement with plaintext (%)', data: run.agreement.map((a) => a * 100), borderColor: COLORS.agreement, backgroundColor: COLORS.agreement, pointRadius: 2, borderDash: [6, 3] },
    ],
  };
}

/** Short name of a report for legends and table headers. */
export function reportLabel(r: InferenceReport, i: number): string {
  return `${i + 1}. ${r.scheme} · ${r.model} · ${r.images} img${r.server ? ' · remote' : ''}`;
}

/** One bar per report for `value` (compare view). */
export function compareChart(reports: readonly InferenceReport[], label: string, value: (r: InferenceReport) => number): ChartData<'bar'> {
  return {
    labels: reports.map(reportLabel),
    datasets: [{ label, data: reports.map(value), backgroundColor: reports.map((_, i) => PALETTE[i % PALETTE.length]!) }],
  };
}
