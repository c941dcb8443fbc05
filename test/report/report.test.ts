import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { reportCommand } from '../../core/cli/commands/report.ts';
import { parseCommandArgs } from '../../core/cli/args.ts';
import { isPpnnError } from '../../core/errors.ts';
import { assembleReport } from '../../core/report/assemble.ts';
import { chooseBaseline, computeRatios, labelReports } from '../../core/report/ratios.ts';
import { parseReport, readReport } from '../../core/report/read.ts';
import { CSV_COLUMNS, reportToCsv, reportToHtml, writeReport } from '../../core/report/writers.ts';
import type { BenchReport, InferenceReport } from '../../core/report/types.ts';
import { benchFixture, fixtureLabel } from './fixture.ts';

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'ppnn-report-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Minimal RFC 4180 parser, independent of the writer, to check the CSV parses back. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [],
    cell = '',
    quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(cell);
      cell = '';
    } else if (ch === '\r') {
      /* CRLF: the \n ends the row */
    } else if (ch === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else cell += ch;
  }
  if (cell !== '' || row.length) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}

function expectReportInvalid(fn: () => unknown, message: RegExp): void {
  try {
    fn();
  } catch (e) {
    expect(isPpnnError(e)).toBe(true);
    expect((e as { code: string }).code).toBe('REPORT_INVALID');
    expect((e as Error).message).toMatch(message);
    return;
  }
  throw new Error('expected REPORT_INVALID, nothing was thrown');
}

/** The baseline run against itself: every ratio is exactly 1. */
const BASELINE_RATIOS = {
  onlineMs: 1,
  onlineBytes: 1,
  onlineRounds: 1,
  preprocessingMs: 1,
  preprocessingBytes: 1,
  totalMs: 1,
};

describe('computeRatios', () => {
  it('divides each run by the baseline per image: online time, both-way bytes, rounds, preprocessing, total', () => {
    const r = benchFixture();
    expect(r.baseline).toBe(fixtureLabel('merged'));
    const ratios = computeRatios(r.schemes, r.baseline);
    const [merged, unmerged, , cryptonets] = r.schemes;
    expect(ratios[fixtureLabel('merged')]).toEqual(BASELINE_RATIOS);
    const u = ratios[fixtureLabel('unmerged')]!;
    expect(u.onlineMs).toBeCloseTo(910 / 480, 12);
    expect(u.onlineBytes).toBeCloseTo((3_800_000 + 2_700_000) / (1_300_000 + 900_000), 12);
    expect(u.onlineRounds).toBe(2);
    expect(u.preprocessingMs).toBeCloseTo(97_000 / 52_000, 12);
    expect(u.preprocessingBytes).toBeCloseTo(110 / 60, 12);
    const total = (s: typeof merged) =>
      s!.stages.merging.wallMs + s!.stages.preprocessing.wallMs + s!.stages.online.wallMs;
    expect(u.totalMs).toBeCloseTo(total(unmerged) / total(merged), 12);
    const c = ratios[fixtureLabel('cryptonets')]!;
    expect(c.preprocessingMs).toBe(0);
    expect(c.onlineRounds).toBeCloseTo(1 / 5, 12);
    expect(c.totalMs).toBeCloseTo(total(cryptonets) / total(merged), 12);
  });

  it('runs of different image counts, places and schemes: unique labels, one baseline, per-image ratios', () => {
    const [mergedBase, unmergedBase, gazelleBase] = benchFixture().schemes.map((s) => ({ ...s, label: undefined }));
    // A run of `images` images whose per-image cost is `scale` × the fixture's (whole-run totals scale with both).
    const run = (base: InferenceReport, images: number, scale: number, server?: string): InferenceReport => {
      const r = structuredClone(base);
      const k = (images / base.images) * scale;
      r.images = images;
      for (const st of ['merging', 'preprocessing', 'online'] as const) {
        const m = r.stages[st];
        for (const f of ['wallMs', 'clientMs', 'serverMs', 'bytesClientToServer', 'bytesServerToClient'] as const)
          m[f] *= st === 'merging' ? 1 : k;
        m.rounds = Math.round(m.rounds * (images / base.images));
      }
      r.stages.setup = {
        wallMs: 400,
        clientMs: 300,
        serverMs: 100,
        bytesClientToServer: 4e6,
        bytesServerToClient: 0,
        messages: 1,
        rounds: 1,
      };
      for (const f of ['onlineMs', 'onlineBytes', 'preprocessingMs', 'preprocessingBytes'] as const)
        r.perImage[f] *= scale;
      if (server) r.server = server;
      return r;
    };
    const runs = [
      run(gazelleBase!, 20, 1),
      run(mergedBase!, 10, 1), // the first merged run: the default baseline
      run(mergedBase!, 5, 1.5, 'ws://10.0.0.2:9000'),
      run(unmergedBase!, 20, 1),
      run(mergedBase!, 10, 2), // same scheme, place and count as the first merged: gets " #2"
    ];
    const report = assembleReport(runs, { createdAt: 'now', command: 'test' });
    const labels = report.schemes.map((r) => r.label);
    expect(labels).toEqual([
      'gazelle · local · 20 images',
      'merged · local · 10 images',
      'merged · 10.0.0.2:9000 · 5 images',
      'unmerged · local · 20 images',
      'merged · local · 10 images #2',
    ]);
    expect(report.baseline).toBe('merged · local · 10 images');
    expect(report.mixedImages).toBe(true);
    expect(report.images).toBe(20);
    const base = report.schemes[1]!;
    const q = (label: string) => report.ratios[label]!;
    expect(q('merged · local · 10 images')).toEqual(BASELINE_RATIOS);
    // per-image medians: the remote run costs 1.5× per image, the second local one 2×, whatever their counts
    expect(q('merged · 10.0.0.2:9000 · 5 images').onlineMs).toBeCloseTo(1.5, 12);
    expect(q('merged · 10.0.0.2:9000 · 5 images').preprocessingBytes).toBeCloseTo(1.5, 12);
    expect(q('merged · local · 10 images #2').onlineMs).toBeCloseTo(2, 12);
    expect(q('merged · local · 10 images #2').onlineBytes).toBeCloseTo(2, 12);
    // unmerged over 20 images vs merged over 10: per image, unmerged is dearer (not 0.42× from whole-run totals)
    expect(q('unmerged · local · 20 images').onlineMs).toBeCloseTo(9.1 / 4.8, 12);
    expect(q('unmerged · local · 20 images').onlineMs).toBeGreaterThan(1);
    const perImageRounds = (r: InferenceReport) => r.stages.online.rounds / r.images;
    expect(q('unmerged · local · 20 images').onlineRounds).toBeCloseTo(
      perImageRounds(report.schemes[3]!) / perImageRounds(base),
      12,
    );
    // total per image: one-offs (merging + setup) over the run's images, plus the per-image medians
    const totalPerImage = (r: InferenceReport) =>
      (r.stages.merging.wallMs + 400) / r.images + r.perImage.preprocessingMs + r.perImage.onlineMs;
    for (const r of report.schemes)
      expect(report.ratios[r.label!]!.totalMs).toBeCloseTo(totalPerImage(r) / totalPerImage(base), 12);
    expect(q('gazelle · local · 20 images').preprocessingMs).toBeCloseTo(
      report.schemes[0]!.perImage.preprocessingMs / base.perImage.preprocessingMs,
      12,
    );
    // an explicit baseline: a label, or a scheme name for its first run
    const byUnmerged = assembleReport(runs, { createdAt: 'now', command: 'test', baseline: 'unmerged' });
    expect(byUnmerged.baseline).toBe('unmerged · local · 20 images');
    expect(byUnmerged.ratios['unmerged · local · 20 images']!.onlineMs).toBe(1);
    expect(byUnmerged.ratios['merged · local · 10 images']!.onlineMs).toBeCloseTo(4.8 / 9.1, 12);
    expect(() => assembleReport(runs, { createdAt: 'now', command: 'test', baseline: 'delphi' })).toThrow(
      /none of the runs/,
    );
    // and it survives the round trip through report.json
    expect(parseReport(JSON.stringify(report))).toEqual(report);
  });

  it('repeats: the ratio uses the median over repeats', () => {
    const [m, u] = benchFixture().schemes.map((s) => ({ ...s, label: undefined }));
    const spread = (lo: number, mid: number, hi: number) => ({ min: lo, median: mid, max: hi });
    const withRepeats = (r: InferenceReport, mid: number): InferenceReport => ({
      ...r,
      repeats: {
        runs: 3,
        onlineMs: spread(mid / 2, mid, mid * 3),
        preprocessingMs: spread(1, 2, 3),
        totalMs: spread(1, mid, 9),
      },
    });
    const report = assembleReport([withRepeats(m!, 4), withRepeats(u!, 10)], { createdAt: 'now', command: 'x' });
    expect(report.ratios[report.schemes[1]!.label!]!.onlineMs).toBeCloseTo(2.5, 12);
    expect(report.ratios[report.schemes[1]!.label!]!.totalMs).toBeCloseTo(2.5, 12);
  });

  it('baseline defaults to the first merged run, else the first run; 0/0 is 1 and x/0 is Infinity', () => {
    const r = benchFixture();
    const noMerged = labelReports(r.schemes.filter((s) => s.scheme !== 'merged'));
    expect(chooseBaseline(noMerged)).toBe(fixtureLabel('unmerged'));
    expect(computeRatios([], undefined)).toEqual({});
    const merged = structuredClone(r.schemes[0]!);
    merged.stages.merging.wallMs = 0;
    const other = structuredClone(r.schemes[1]!);
    merged.stages.online.rounds = 0;
    other.stages.online.rounds = 3;
    merged.perImage.preprocessingBytes = 0;
    other.perImage.preprocessingBytes = 0;
    const q = computeRatios([merged, other], merged.label);
    expect(q[other.label!]!.onlineRounds).toBe(Number.POSITIVE_INFINITY);
    expect(q[other.label!]!.preprocessingBytes).toBe(1);
    expect(() => computeRatios('x' as never, 'a')).toThrow(TypeError);
    expect(() => computeRatios([merged], 'nope')).toThrow(RangeError);
  });
});

describe('writeReport / readReport', () => {
  const report = benchFixture();
  const dir = tmp();
  const paths = writeReport(join(dir, 'nested', 'out'), report);

  it('writes the three files and report.json round-trips through readReport (dir or file)', () => {
    expect(
      paths.json.endsWith('report.json') && paths.csv.endsWith('report.csv') && paths.html.endsWith('report.html'),
    ).toBe(true);
    expect(readReport(join(dir, 'nested', 'out'))).toEqual(report);
    expect(readReport(paths.json)).toEqual(report);
    expect(readFileSync(paths.json, 'utf8')).toContain('\n  "format": "ppnn-bench-report"'); // pretty-printed
  });

  it('CSV: header + one row per scheme × stage, parses back to the figures', () => {
    const rows = parseCsv(readFileSync(paths.csv, 'utf8'));
    expect(rows.length).toBe(1 + report.schemes.length * 3);
    expect(rows[0]).toEqual([...CSV_COLUMNS]);
    const col = (name: string) => CSV_COLUMNS.indexOf(name);
    for (const row of rows) expect(row.length).toBe(CSV_COLUMNS.length);
    const gazelleOnline = rows.find((r) => r[1] === 'gazelle' && r[2] === 'online')!;
    expect(gazelleOnline[0]).toBe(fixtureLabel('gazelle'));
    expect(Number(gazelleOnline[col('wallMs')])).toBe(61_000);
    expect(Number(gazelleOnline[col('he_rotations')])).toBe(310 * 150);
    const mergedPre = rows.find((r) => r[1] === 'merged' && r[2] === 'preprocessing')!;
    expect(Number(mergedPre[col('bytesClientToServer')])).toBe(
      report.schemes[0]!.stages.preprocessing.bytesClientToServer,
    );
    expect(Number(mergedPre[col('he_ctPtMul')])).toBe(12_000);
    expect(Number(mergedPre[col('agreement')])).toBe(1);
    const mergedOnline = rows.find((r) => r[1] === 'merged' && r[2] === 'online')!;
    expect(mergedOnline[col('he_ctPtMul')]).toBe(''); // no HE online in the paper's scheme
  });

  it('latency (cold / warm) reaches the CSV and the HTML summary; absent latency leaves the cells empty', () => {
    const r = benchFixture();
    r.schemes[0]!.latency = { coldMs: 1234.5, warmMs: 3.25, warmImages: 4, prefetch: 4 };
    const rows = parseCsv(reportToCsv(r));
    const col = (name: string) => CSV_COLUMNS.indexOf(name);
    const merged = rows.find((x) => x[1] === 'merged' && x[2] === 'online')!;
    expect(Number(merged[col('coldMs')])).toBe(1234.5);
    expect(Number(merged[col('warmMs')])).toBe(3.25);
    const other = rows.find((x) => x[1] === 'gazelle')!;
    expect(other[col('coldMs')]).toBe('');
    const html = reportToHtml(r);
    expect(html).toContain('prefetched image (warm)');
    expect(html).toMatch(/<td>1[.,]2\d* s<\/td><td>3[.,]\d+ ms<\/td>/);
  });

  it('CSV quotes commas, quotes and newlines', () => {
    const r = benchFixture();
    r.schemes[0]!.model = 'mnist, "v2"\nbeta';
    const rows = parseCsv(reportToCsv(r));
    expect(rows.length).toBe(13);
    expect(rows[1]![CSV_COLUMNS.indexOf('model')]).toBe('mnist, "v2"\nbeta');
  });

  it('HTML is self-contained: Chart.js inlined, data embedded, no network src/href/url()', () => {
    const html = readFileSync(paths.html, 'utf8');
    expect(html).toContain('Chart.js v4');
    expect(html.length).toBeGreaterThan(200_000);
    const data = /<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(html);
    expect(JSON.parse(data![1]!)).toEqual(JSON.parse(JSON.stringify(report)));
    expect(html).not.toMatch(/<script[^>]*\ssrc\s*=/i);
    expect(html).not.toMatch(/<link[^>]*\shref\s*=\s*["']?(https?:)?\/\//i);
    expect(html).not.toMatch(/url\(\s*["']?(https?:)?\/\//i);
    expect(html).not.toMatch(/<(img|iframe|embed|object|source)\b/i);
    expect(html).toMatch(/Content-Security-Policy" content="default-src 'none'/);
    for (const id of ['chart-time', 'chart-bytes', 'chart-levels', 'chart-quality'])
      expect(html).toContain(`<canvas id="${id}"`);
    for (const s of report.schemes) expect(html).toContain(`>${s.label}</td>`);
    expect(html).toContain(report.machine.cpuModel);
    expect(html).toContain('1.90×'); // unmerged online time vs merged, in the ratios table
  });

  it('HTML escapes report text and cannot be broken out of by embedded data', () => {
    const r = benchFixture();
    r.command = 'ppnn bench </script><script>alert(1)</script> & "x"';
    const html = reportToHtml(r, { chartJs: '/* stub */' });
    expect(html).not.toContain('<script>alert(1)');
    expect(html).toContain('&#60;/script&#62;');
    const data = /<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(html);
    expect(JSON.parse(data![1]!).command).toBe(r.command);
  });
});

describe('readReport refuses what it cannot read faithfully', () => {
  const dir = tmp();
  const put = (name: string, value: unknown) => {
    const file = join(dir, name);
    writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value));
    return file;
  };

  it('unknown or old versions are refused, never misread', () => {
    expectReportInvalid(
      () => readReport(put('v3.json', { ...benchFixture(), version: 3 })),
      /report format version 3 is not supported by this build \(reads 1 and 2\)/,
    );
    expectReportInvalid(
      () => readReport(put('v0.json', { ...benchFixture(), version: 0 })),
      /report format version 0 is not supported/,
    );
    const { version: _v, ...noVersion } = benchFixture();
    expectReportInvalid(() => readReport(put('nov.json', noVersion)), /'version'/);
    expectReportInvalid(
      () => readReport(put('infer-v2.json', { ...benchFixture().schemes[0], formatVersion: 2 })),
      /format version 2, not supported/,
    );
  });

  it('garbage, other formats and ill-typed fields are REPORT_INVALID naming the field', () => {
    expectReportInvalid(() => readReport(put('garbage.json', '{"format": "ppnn-bench-rep')), /not valid JSON/);
    expectReportInvalid(() => readReport(put('array.json', [1, 2])), /JSON object/);
    expectReportInvalid(() => readReport(put('other.json', { format: 'something-else', version: 1 })), /'format'/);
    const cases: [(r: BenchReport & Record<string, unknown>) => void, RegExp][] = [
      [
        (r) => {
          delete (r as Partial<BenchReport>).schemes;
        },
        /'report\.schemes' must be an array/,
      ],
      [
        (r) => {
          r.schemes = [];
        },
        /'schemes' is empty/,
      ],
      [
        (r) => {
          (r.machine as Record<string, unknown>).cpus = 'two';
        },
        /'machine\.cpus'/,
      ],
      [
        (r) => {
          (r.schemes[1]!.stages.online as unknown as Record<string, unknown>).wallMs = null;
        },
        /'schemes\[1\]\.stages\.online\.wallMs'/,
      ],
      [
        (r) => {
          delete (r.schemes[2]!.stages as Partial<(typeof r.schemes)[2]['stages']>).preprocessing;
        },
        /'schemes\[2\]\.stages\.preprocessing' must be an object/,
      ],
      [
        (r) => {
          (r.schemes[0] as unknown as Record<string, unknown>).scheme = 'Not a scheme!';
        },
        /'schemes\[0\]\.scheme' must be a scheme id/,
      ],
      [
        (r) => {
          (r.schemes[3]!.stages.preprocessing.levels![0] as unknown as Record<string, unknown>).levels = ['x'];
        },
        /levels\[0\]\.levels/,
      ],
      [
        (r) => {
          (r.runs[0] as unknown as Record<string, unknown>).onlineMs = '5';
        },
        /'runs\[0\]\.onlineMs'/,
      ],
      [
        (r) => {
          (r as Record<string, unknown>).ratios = { [fixtureLabel('merged')]: { onlineMs: 'x' } };
        },
        /'ratios\.merged · local · 100 images\.onlineMs'/,
      ],
      [
        (r) => {
          (r as Record<string, unknown>).ratios = { merged: { onlineMs: 1 } };
        },
        /'ratios\.merged' is not the label of a run/,
      ],
      [
        (r) => {
          r.baseline = 'nobody';
        },
        /'report\.baseline' \('nobody'\) is not the label/,
      ],
      [
        (r) => {
          r.schemes[1]!.label = r.schemes[0]!.label;
        },
        /labels must be unique/,
      ],
      [
        (r) => {
          delete (r as Partial<BenchReport>).createdAt;
        },
        /'report\.createdAt' must be a string/,
      ],
    ];
    cases.forEach(([mutate, message], i) => {
      const r = benchFixture() as BenchReport & Record<string, unknown>;
      mutate(r);
      expectReportInvalid(() => readReport(put(`bad${i}.json`, r)), message);
    });
  });

  it('a missing file is FILE_NOT_FOUND; a zero-merged ratio (null in JSON) reads back as Infinity', () => {
    expect(() => readReport(join(dir, 'nope'))).toThrow(expect.objectContaining({ code: 'FILE_NOT_FOUND' }));
    const r = benchFixture();
    r.ratios[fixtureLabel('unmerged')]!.onlineRounds = Number.POSITIVE_INFINITY;
    expect(readReport(put('inf.json', r)).ratios[fixtureLabel('unmerged')]!.onlineRounds).toBe(
      Number.POSITIVE_INFINITY,
    );
  });

  it('a single `ppnn infer --json` report is wrapped into a one-scheme BenchReport', () => {
    const single = benchFixture().schemes[0]!;
    const r = readReport(put('infer.json', single));
    expect(r.format).toBe('ppnn-bench-report');
    expect(r.schemes).toEqual([single]);
    expect(r.ratios[fixtureLabel('merged')]!.onlineMs).toBe(1);
    expect(r.machine.cpuModel).toBe('unknown');
    expect(parseReport(JSON.stringify(r))).toEqual(r);
  });
});

describe('ppnn report', () => {
  const dir = tmp();
  writeReport(dir, benchFixture());
  const run = async (argv: string[]) => {
    const out: string[] = [];
    const code = await reportCommand.run(parseCommandArgs(reportCommand, argv), {
      out: (t) => out.push(t),
      err: () => {},
      isTTY: false,
    });
    return { code, text: out.join('\n') };
  };

  it('prints one row per scheme with figures and ratios', async () => {
    const { code, text } = await run([dir]);
    expect(code).toBe(0);
    const lines = text.split('\n');
    const header = lines.find((l) => l.startsWith('run'))!;
    expect(header).toMatch(/online\/img.*×time/);
    for (const s of ['merged', 'unmerged', 'gazelle', 'cryptonets'])
      expect(lines.some((l) => l.startsWith(`${fixtureLabel(s as never)} `))).toBe(true);
    const merged = lines.find((l) => l.startsWith('merged '))!;
    expect(merged.match(/1\.00×/g)!.length).toBe(4);
    const unmerged = lines.find((l) => l.startsWith('unmerged '))!;
    expect(unmerged).toContain('9.10 ms'); // online ms per image
    expect(unmerged).toContain('1.90×');
    expect(text).toContain("baseline 'merged · local · 100 images'");
    expect(text).toContain(
      'machine: Intel(R) Xeon(R) CPU @ 2.20GHz (2 logical cores), linux x64, 8.00 GiB, Node v22.23.0',
    );
    expect(text).toContain('seed 7');
    expect(text).toContain('command: ppnn bench --model mnist');
  });

  it('--json prints the validated report (also as --json DIR); bad arguments are ARGUMENT_INVALID', async () => {
    expect(JSON.parse((await run([dir, '--json'])).text)).toEqual(benchFixture());
    expect(JSON.parse((await run(['--json', dir])).text).schemes.length).toBe(4);
    await expect(run([])).rejects.toMatchObject({ code: 'ARGUMENT_INVALID' });
    await expect(run([dir, dir])).rejects.toMatchObject({ code: 'ARGUMENT_INVALID' });
    await expect(run([join(dir, 'missing')])).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
  });
});
