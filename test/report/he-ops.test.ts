import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OP_LABELS, OP_NAMES, addCounts, readCounts, zeroCounts } from '../../core/report/he-ops.ts';
import { parseReport } from '../../core/report/read.ts';
import { CSV_COLUMNS, reportToCsv, reportToHtml } from '../../core/report/writers.ts';

const FINER = ['encodes', 'conjugations', 'zeroEncryptions'];
const OLD_FILE = resolve(import.meta.dirname, '../e2e/fixtures/bench-repeat3.json');
const OLD_TEXT = readFileSync(OLD_FILE, 'utf8');
type RawReport = { schemes: { stages: Record<string, { he?: Record<string, number> }> }[] };
const RAW = JSON.parse(OLD_TEXT) as RawReport;
/** The op counts stored in that file, a report saved before the finer kinds joined the vocabulary. */
const STORED = RAW.schemes.flatMap((s) => Object.values(s.stages).flatMap((st) => (st.he ? [st.he] : [])));
/** The nine op names reports had then, in the order they were written. */
const OLD_NAMES = Object.keys(STORED[0] ?? {});

describe('the one HE op vocabulary', () => {
  it('names every op once, the older nine first (report.csv column order), each with a table heading', () => {
    expect(OP_NAMES.slice(0, 9)).toEqual(OLD_NAMES);
    expect([...OP_NAMES.slice(9)].sort()).toEqual([...FINER].sort());
    expect(new Set(OP_NAMES).size).toBe(OP_NAMES.length);
    expect(Object.keys(zeroCounts()).sort()).toEqual([...OP_NAMES].sort());
    for (const op of OP_NAMES) expect(OP_LABELS[op]).toMatch(/\S/);
  });

  it('addCounts adds field by field, conjugations and zero encryptions kept apart', () => {
    const a = { ...zeroCounts(), rotations: 3, conjugations: 2, encryptions: 5, zeroEncryptions: 1 };
    const b = { ...zeroCounts(), rotations: 1, conjugations: 1, encodes: 7 };
    expect(addCounts(a, b)).toEqual({
      ...zeroCounts(),
      rotations: 4,
      conjugations: 3,
      encryptions: 5,
      zeroEncryptions: 1,
      encodes: 7,
    });
  });

  it('readCounts: missing ops read as 0, an ill-typed one is reported by name', () => {
    expect(readCounts({ rotations: 4 }, () => expect.unreachable())).toEqual({ ...zeroCounts(), rotations: 4 });
    expect(() =>
      readCounts({ conjugations: 'two' }, (op) => {
        throw new Error(`bad ${op}`);
      }),
    ).toThrow('bad conjugations');
  });
});

describe('a report saved with the nine older op names', () => {
  const report = parseReport(OLD_TEXT, 'bench-repeat3.json');

  it('is such a file (the fixture has not been rewritten)', () => {
    expect(STORED.length).toBeGreaterThan(0);
    expect(OLD_NAMES).toHaveLength(9);
    for (const he of STORED) expect(Object.keys(he)).toEqual(OLD_NAMES);
    for (const op of FINER) expect(OLD_NAMES).not.toContain(op);
  });

  it('loads with its nine counts unchanged and the finer ones at 0', () => {
    report.schemes.forEach((s, i) => {
      for (const [stage, st] of Object.entries(s.stages)) {
        const old = RAW.schemes[i]!.stages[stage]!.he;
        if (!old) continue;
        expect(st.he).toEqual({ ...old, encodes: 0, conjugations: 0, zeroEncryptions: 0 });
      }
    });
  });

  it('renders: report.csv has a column per op (0 for the finer ones), report.html a heading per op', () => {
    const csv = reportToCsv(report).trim().split('\r\n');
    const col = (name: string) => CSV_COLUMNS.indexOf(name);
    const pre = csv
      .slice(1)
      .map((l) => l.split(','))
      .find((cells) => cells[2] === 'preprocessing')!;
    expect(Number(pre[col('he_ctPtMul')])).toBeGreaterThan(0);
    for (const op of FINER) expect(pre[col(`he_${op}`)]).toBe('0');
    const html = reportToHtml(report);
    for (const op of OP_NAMES) expect(html).toContain(`<th>${OP_LABELS[op]}</th>`);
  });

  it('an op count that is not a number is REPORT_INVALID naming the field', () => {
    const bad = JSON.parse(OLD_TEXT) as RawReport;
    bad.schemes[0]!.stages.preprocessing!.he!.rotations = 'many' as unknown as number;
    expect(() => parseReport(JSON.stringify(bad), 'bad.json')).toThrow(
      expect.objectContaining({
        code: 'REPORT_INVALID',
        message: expect.stringMatching(/preprocessing\.he\.rotations/),
      }),
    );
  });
});
