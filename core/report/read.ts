import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PpnnError } from '../errors.ts';
import { assembleReport, UNKNOWN_MACHINE } from './assemble.ts';
import { readCounts } from './he-ops.ts';
import { RATIO_FIELDS } from './ratios.ts';
import { SCHEME_ID_PATTERN, STAGE_NUMBERS } from './types.ts';
import type { BenchReport, InferenceReport, SchemeId } from './types.ts';

/**
 * Reading report files back: `ppnn report`, the UI's import and the tests go through here.
 * The rule from issue 5: a report of another format version is refused with a clear
 * error, never misread — so the version is checked before any other field, and every
 * required field is checked for its type, naming the field when it is wrong.
 */

/** The BenchReport format version this build writes; it also reads (and upgrades) version 1. */
export const BENCH_REPORT_VERSION = 2;
const READABLE_VERSIONS: readonly unknown[] = [1, 2];

type Json = Record<string, unknown>;

function invalid(source: string, message: string): PpnnError {
  return new PpnnError('REPORT_INVALID', `${source}: ${message}`);
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Field checks: each throws REPORT_INVALID naming the dotted path of the offending field. */
class FieldChecker {
  readonly source: string;
  constructor(source: string) {
    this.source = source;
  }

  object(v: unknown, path: string): Json {
    if (!isObject(v)) throw invalid(this.source, `field '${path}' must be an object`);
    return v;
  }
  number(o: Json, key: string, path: string): void {
    const v = o[key];
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw invalid(
        this.source,
        `field '${path}.${key}' must be a finite number, got ${JSON.stringify(v) ?? 'nothing'}`,
      );
  }
  /** A finite number, or null (a figure the run could not have: e.g. no plaintext reference). */
  numberOrNull(o: Json, key: string, path: string): void {
    if (o[key] !== null) this.number(o, key, path);
  }
  string(o: Json, key: string, path: string): void {
    if (typeof o[key] !== 'string') throw invalid(this.source, `field '${path}.${key}' must be a string`);
  }
  array(o: Json, key: string, path: string): unknown[] {
    const v = o[key];
    if (!Array.isArray(v)) throw invalid(this.source, `field '${path}.${key}' must be an array`);
    return v;
  }
  scheme(o: Json, key: string, path: string): void {
    if (typeof o[key] !== 'string' || !SCHEME_ID_PATTERN.test(o[key]))
      throw invalid(
        this.source,
        `field '${path}.${key}' must be a scheme id, got ${JSON.stringify(o[key]) ?? 'nothing'}`,
      );
  }
}

const INFERENCE_NUMBERS = ['images', 'accuracy', 'seed'] as const;
/** null in a remote run without a local reference model */
const REFERENCE_NUMBERS = ['plaintextAccuracy', 'agreement', 'maxLogitError'] as const;
const PER_IMAGE_NUMBERS = ['onlineMs', 'onlineBytes', 'preprocessingMs', 'preprocessingBytes'] as const;

function checkInference(c: FieldChecker, v: unknown, path: string): InferenceReport {
  const r = c.object(v, path);
  if (r.formatVersion !== 1) {
    throw invalid(
      c.source,
      `${path} has inference report format version ${JSON.stringify(r.formatVersion) ?? '(none)'}, not supported by ` +
        `this build (reads 1)`,
    );
  }
  c.scheme(r, 'scheme', path);
  c.string(r, 'model', path);
  c.string(r, 'dataset', path);
  for (const k of INFERENCE_NUMBERS) c.number(r, k, path);
  for (const k of REFERENCE_NUMBERS) c.numberOrNull(r, k, path);
  const stages = c.object(r.stages, `${path}.stages`);
  for (const name of ['merging', 'setup', 'preprocessing', 'online'] as const) {
    if (name === 'setup' && stages.setup === undefined) continue;
    const s = c.object(stages[name], `${path}.stages.${name}`);
    for (const k of STAGE_NUMBERS) c.number(s, k, `${path}.stages.${name}`);
    // every op a number; ops a report was written without (the finer kinds added later) read as 0
    if (s.he !== undefined)
      s.he = readCounts(c.object(s.he, `${path}.stages.${name}.he`), (op) => {
        throw invalid(c.source, `field '${path}.stages.${name}.he.${op}' must be a finite number`);
      });
    if (s.levels !== undefined) {
      c.array(s, 'levels', `${path}.stages.${name}`).forEach((l, i) => {
        const lp = `${path}.stages.${name}.levels[${i}]`;
        const layer = c.object(l, lp);
        c.string(layer, 'layer', lp);
        c.number(layer, 'levelsUsed', lp);
        if (!c.array(layer, 'levels', lp).every((x) => typeof x === 'number'))
          throw invalid(c.source, `field '${lp}.levels' must hold numbers`);
      });
    }
  }
  const perImage = c.object(r.perImage, `${path}.perImage`);
  for (const k of PER_IMAGE_NUMBERS) c.number(perImage, k, `${path}.perImage`);
  if (r.label !== undefined) c.string(r, 'label', path);
  if (r.repeats !== undefined) {
    const rep = c.object(r.repeats, `${path}.repeats`);
    c.number(rep, 'runs', `${path}.repeats`);
    for (const k of ['onlineMs', 'preprocessingMs', 'totalMs'] as const) {
      const spread = c.object(rep[k], `${path}.repeats.${k}`);
      for (const q of ['min', 'median', 'max'] as const) c.number(spread, q, `${path}.repeats.${k}`);
    }
  }
  return r as unknown as InferenceReport;
}

function checkRatios(c: FieldChecker, v: unknown, labels: ReadonlySet<string>): BenchReport['ratios'] {
  const ratios = c.object(v, 'ratios');
  for (const [label, value] of Object.entries(ratios)) {
    if (!labels.has(label)) throw invalid(c.source, `field 'ratios.${label}' is not the label of a run in 'schemes'`);
    const r = c.object(value, `ratios.${label}`);
    for (const k of RATIO_FIELDS) {
      // JSON has no Infinity: a ratio against a zero baseline figure is written as null.
      if (r[k] === null) r[k] = Number.POSITIVE_INFINITY;
      else c.number(r, k, `ratios.${label}`);
    }
  }
  return ratios as BenchReport['ratios'];
}

function checkBench(c: FieldChecker, o: Json): BenchReport {
  if (!READABLE_VERSIONS.includes(o.version)) {
    if (typeof o.version === 'number' || typeof o.version === 'string') {
      throw invalid(
        c.source,
        `report format version ${String(o.version)} is not supported by this build (reads ` +
          `${READABLE_VERSIONS.join(' and ')})`,
      );
    }
    throw invalid(c.source, "field 'version' is missing or not a number");
  }
  for (const k of ['createdAt', 'command', 'model', 'dataset'] as const) c.string(o, k, 'report');
  for (const k of ['images', 'repeat', 'seed'] as const) c.number(o, k, 'report');
  const machine = c.object(o.machine, 'machine');
  for (const k of ['platform', 'arch', 'cpuModel', 'node'] as const) c.string(machine, k, 'machine');
  for (const k of ['cpus', 'memoryBytes'] as const) c.number(machine, k, 'machine');
  const versions = c.object(o.versions, 'versions');
  for (const k of Object.keys(versions)) c.string(versions, k, 'versions');
  const schemes = c.array(o, 'schemes', 'report');
  if (schemes.length === 0) throw invalid(c.source, "field 'schemes' is empty: a report holds at least one scheme");
  schemes.forEach((s, i) => checkInference(c, s, `schemes[${i}]`));
  c.array(o, 'runs', 'report').forEach((run, i) => {
    const r = c.object(run, `runs[${i}]`);
    c.scheme(r, 'scheme', `runs[${i}]`);
    for (const k of ['repeat', 'onlineMs', 'preprocessingMs', 'wallMs'] as const) c.number(r, k, `runs[${i}]`);
  });
  if (o.version === 1) return upgradeV1(o as unknown as Omit<BenchReport, 'version'>);
  const labels = new Set<string>();
  (o.schemes as Json[]).forEach((s, i) => {
    c.string(s, 'label', `schemes[${i}]`);
    if (labels.has(s.label as string))
      throw invalid(c.source, `field 'schemes[${i}].label' repeats '${String(s.label)}': labels must be unique`);
    labels.add(s.label as string);
  });
  c.string(o, 'baseline', 'report');
  if (!labels.has(o.baseline as string))
    throw invalid(c.source, `field 'report.baseline' ('${String(o.baseline)}') is not the label of a run`);
  checkRatios(c, o.ratios, labels);
  return o as unknown as BenchReport;
}

/**
 * A version-1 report (ratios keyed by scheme, against merged) as version 2: labels given,
 * ratios recomputed per image against the first merged run. Its figures are untouched.
 */
function upgradeV1(o: Omit<BenchReport, 'version'>): BenchReport {
  return assembleReport(o.schemes, {
    createdAt: o.createdAt,
    command: o.command,
    machine: o.machine,
    versions: o.versions,
    repeat: o.repeat,
    seed: o.seed,
    runs: o.runs,
  });
}

/**
 * Wrap one InferenceReport (what `ppnn infer --json` prints, formatVersion 1) into a
 * BenchReport with that single scheme. Facts an inference report does not carry —
 * machine, versions, command, creation time — are marked 'unknown' rather than filled
 * with this machine's, which would be a false claim about where the run happened.
 */
export function benchReportFromInference(r: InferenceReport, createdAt = 'unknown'): BenchReport {
  return assembleReport([r], {
    createdAt,
    command: 'unknown (single inference report, e.g. ppnn infer --json)',
    machine: UNKNOWN_MACHINE,
  });
}

/**
 * Parse and validate report text. Accepts a BenchReport (`format: 'ppnn-bench-report'`,
 * version 1) or a single InferenceReport (`formatVersion: 1`, the output of
 * `ppnn infer --json`), which is wrapped by `benchReportFromInference`.
 * Throws PpnnError REPORT_INVALID — naming `source` and the offending field — for text
 * that is not JSON, another format, an unsupported version, or missing/ill-typed fields.
 */
export function parseReport(text: string, source = 'report.json', createdAt?: string): BenchReport {
  if (typeof text !== 'string') throw new TypeError('parseReport: text must be a string');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw invalid(source, `not valid JSON (${(e as Error).message})`);
  }
  const c = new FieldChecker(source);
  if (!isObject(value)) throw invalid(source, 'a report must be a JSON object');
  if (value.format === 'ppnn-bench-report') return checkBench(c, value);
  if (value.format === undefined && 'formatVersion' in value && 'scheme' in value) {
    return benchReportFromInference(checkInference(c, value, 'report'), createdAt);
  }
  throw invalid(
    source,
    `field 'format' must be 'ppnn-bench-report' (or the file a single 'ppnn infer --json' report), got ` +
      `${JSON.stringify(value.format) ?? 'nothing'}`,
  );
}

/**
 * Read `report.json` from a directory, or the given JSON file, and validate it (see
 * `parseReport`). Throws FILE_NOT_FOUND when there is no such file, REPORT_INVALID otherwise.
 */
export function readReport(dirOrFile: string): BenchReport {
  if (typeof dirOrFile !== 'string' || dirOrFile === '')
    throw new TypeError('readReport: dirOrFile must be a directory or a report.json path');
  let file = dirOrFile;
  let mtime: string;
  try {
    if (statSync(file).isDirectory()) file = join(file, 'report.json');
    mtime = statSync(file).mtime.toISOString();
  } catch {
    throw new PpnnError(
      'FILE_NOT_FOUND',
      `no report at '${file}' (give a directory written by 'ppnn bench --out DIR' or a report.json file)`,
    );
  }
  return parseReport(readFileSync(file, 'utf8'), file, mtime);
}
