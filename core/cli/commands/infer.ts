import { readFileSync, writeFileSync } from 'node:fs';
import { extname } from 'node:path';
import { loadModel } from '../../model/load.ts';
import { missingBoundsWarning } from './calibrate.ts';
import { runSession } from '../../runtime/session.ts';
import { formatBytes, formatCount, formatMs, formatSeed } from '../../report/format.ts';
import type { InferenceReport, SchemeId, StageMetrics } from '../../report/types.ts';
import { PpnnError } from '../../errors.ts';
import { JSON_OPTION } from '../args.ts';
import { defineCommand } from '../command.ts';
import { ProgressBar, StageLines } from '../progress.ts';
import {
  DATASET_OPTION,
  INPUT_BITS_OPTION,
  MODEL_OPTION,
  PREFETCH_OPTION,
  SCHEME_OPTION,
  SHARE_BITS_OPTION,
  warnDatasetMismatch,
  WORKERS_OPTION,
} from './options.ts';

/** Human-readable summary table of one report (also used by `ppnn report`). */
export function formatReport(r: InferenceReport): string {
  const lines = [
    `${r.scheme} · ${r.model} on ${r.dataset} · ${r.images} images${r.server ? ` · server ${r.server}` : ''} · seed ` +
      `${formatSeed(r.seed)}`,
    r.agreement === null || r.plaintextAccuracy === null || r.maxLogitError === null
      ? `accuracy ${(100 * r.accuracy).toFixed(2)} % (plaintext n/a), agreement n/a, max |logit error| n/a ` +
        '(no local reference model: pass --reference M for these)'
      : `accuracy ${(100 * r.accuracy).toFixed(2)} % (plaintext ${(100 * r.plaintextAccuracy).toFixed(2)} %), ` +
        `agreement ${(100 * r.agreement).toFixed(2)} %, max |logit error| ${r.maxLogitError.toExponential(2)}`,
    'stage            wall ms   client ms  server ms  client→server  server→client  messages  rounds',
  ];
  const stages: [string, StageMetrics | undefined][] = [
    ['merging', r.stages.merging],
    ['setup (once)', r.stages.setup],
    ['preprocessing', r.stages.preprocessing],
    ['online', r.stages.online],
  ];
  for (const [name, s] of stages) {
    if (!s) continue;
    lines.push(
      `${name.padEnd(14)} ${formatCount(s.wallMs).padStart(9)} ${formatCount(s.clientMs).padStart(11)} ` +
        `${formatCount(s.serverMs).padStart(10)} ${formatBytes(s.bytesClientToServer).padStart(14)} ` +
        `${formatBytes(s.bytesServerToClient).padStart(14)} ${formatCount(s.messages).padStart(9)} ` +
        `${formatCount(s.rounds).padStart(7)}`,
    );
  }
  lines.push(
    `per image (median): online ${formatMs(r.perImage.onlineMs)}, ${formatBytes(r.perImage.onlineBytes)}; ` +
      `preprocessing ${formatMs(r.perImage.preprocessingMs)}, ${formatBytes(r.perImage.preprocessingBytes)}`,
  );
  if (r.latency)
    lines.push(
      `latency: first image (cold, from session start) ${formatMs(r.latency.coldMs)}; ` +
        (r.latency.warmMs !== null
          ? `prefetched image (warm, online stage only) ${formatMs(r.latency.warmMs)} (median of ` +
            `${r.latency.warmImages}, --prefetch ${r.latency.prefetch})`
          : 'warm: no prefetched image (--prefetch K)'),
    );
  const he = r.stages.preprocessing.he ?? r.stages.online.he;
  if (he)
    lines.push(
      `HE ops: ${Object.entries(he)
        .map(([k, v]) => `${k} ${formatCount(v as number)}`)
        .join(', ')}`,
    );
  if (r.precision) {
    const p = r.precision;
    const per = p.steps.map((s) => `${s.name} ${s.predictedLogitError.toExponential(1)}`).join(', ');
    lines.push(
      `precision plan: predicted max |logit error| <= ${p.predictedLogitError.toExponential(2)} (target ` +
        `${p.targetError}); per step: ${per}`,
    );
  }
  if (r.ckks)
    lines.push(
      `CKKS: N=${r.ckks.polyModulusDegree}, primes [${r.ckks.coeffModulusBits.join(',')}], scale ` +
        `2^${r.ckks.scaleBits}, ${r.ckks.slots} slots`,
    );
  return lines.join('\n');
}

function readText(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new PpnnError('FILE_NOT_FOUND', `cannot read the ${what} ${file}: ${(e as Error).message}`);
  }
}

/** --token-file (or $PPNN_TOKEN), --ca, --pin: how a remote client proves itself and checks the server. */
function remoteOptions(
  server: string | undefined,
  tokenFile: string | undefined,
  ca: string | undefined,
  pin: string | undefined,
): { token?: string; ca?: string; pin?: string } {
  if (!server) {
    if (tokenFile || ca || pin) throw new PpnnError('ARGUMENT_INVALID', '--token-file, --ca and --pin need --server');
    return {};
  }
  if ((ca || pin) && !/^wss:/i.test(server))
    throw new PpnnError('ARGUMENT_INVALID', '--ca / --pin need a wss:// server');
  if (pin !== undefined && !/^sha256:[0-9a-fA-F:]{64,95}$/.test(pin))
    throw new PpnnError('ARGUMENT_INVALID', `--pin must be sha256:HEX (64 hex digits), got '${pin}'`);
  const token = tokenFile !== undefined ? readText(tokenFile, 'token file').trim() : process.env.PPNN_TOKEN?.trim();
  return { ...(token ? { token } : {}), ...(ca ? { ca: readText(ca, 'CA file') } : {}), ...(pin ? { pin } : {}) };
}

/** The model a run loads: --model locally; with --server the optional reference (--reference, or --model). */
function referenceOption(
  server: string | undefined,
  model: string | undefined,
  reference: string | undefined,
): string | undefined {
  if (!server) {
    if (reference !== undefined)
      throw new PpnnError('ARGUMENT_INVALID', '--reference needs --server (a local run uses --model)');
    if (model === undefined) throw new PpnnError('ARGUMENT_INVALID', 'missing --model (needed unless --server)');
    return model;
  }
  if (model !== undefined && reference !== undefined && model !== reference)
    throw new PpnnError('ARGUMENT_INVALID', 'give --reference or --model (its old spelling), not both');
  return reference ?? model;
}

/** Per-image results as CSV (`.csv`) or JSON: index, label, predictions, max |logit error|, logits when kept. */
export function perImageFile(report: InferenceReport, file: string): string {
  const rows = report.results ?? [];
  if (extname(file).toLowerCase() !== '.csv') {
    return (
      JSON.stringify({ scheme: report.scheme, model: report.model, dataset: report.dataset, results: rows }) + '\n'
    );
  }
  const k = rows[0]?.secureLogits?.length ?? 0;
  const head = [
    'index',
    'label',
    'secure',
    'plaintext',
    'maxLogitError',
    ...Array.from({ length: k }, (_, i) => `secure_${i}`),
    ...Array.from({ length: k }, (_, i) => `plaintext_${i}`),
  ];
  const line = (r: (typeof rows)[number]): string =>
    [
      r.index,
      r.label,
      r.secure,
      r.plaintext ?? 'n/a',
      r.maxLogitError ?? 'n/a',
      ...(r.secureLogits ?? []),
      ...(r.plaintextLogits ?? []),
    ].join(',');
  return [head.join(','), ...rows.map(line)].join('\n') + '\n';
}

export const inferCommand = defineCommand({
  name: 'infer',
  summary: 'secure two-party inference (preprocessing + online) on N images',
  options: {
    model: {
      ...MODEL_OPTION,
      required: false,
      description: `${MODEL_OPTION.description}; needed locally, with --server the old spelling of --reference`,
    },
    reference: {
      type: 'string',
      placeholder: 'M',
      description: "with --server: a local copy of the server's model, for the plaintext figures (checked first)",
    },
    dataset: DATASET_OPTION,
    limit: {
      type: 'int',
      default: 100,
      min: 1,
      max: 1_000_000,
      description: 'images to classify (the first N of the test split)',
    },
    scheme: SCHEME_OPTION,
    server: {
      type: 'string',
      placeholder: 'ws(s)://HOST:PORT',
      description: 'run only the client here, against a `ppnn serve`',
    },
    'token-file': {
      type: 'string',
      placeholder: 'F',
      defaultText: '$PPNN_TOKEN',
      description: "with --server: the server's token (proved, never sent)",
    },
    ca: {
      type: 'string',
      placeholder: 'FILE',
      description: 'with a wss:// --server: PEM of the CA the server certificate must chain to',
    },
    pin: {
      type: 'string',
      placeholder: 'sha256:HEX',
      description: "with a wss:// --server: the server certificate's SHA-256 fingerprint",
    },
    seed: {
      type: 'int',
      min: 0,
      max: 2 ** 32 - 1,
      defaultText: 'random (OS CSPRNG)',
      description: 'seed of the client masks (reproducible runs; not for real use)',
    },
    'input-bits': INPUT_BITS_OPTION,
    'share-bits': SHARE_BITS_OPTION,
    workers: WORKERS_OPTION,
    prefetch: PREFETCH_OPTION,
    'target-error': {
      type: 'number',
      min: 1e-12,
      max: 1e3,
      defaultText: '1e-3',
      description: 'max |logit error| the server plans its CKKS parameters for (local runs; merged / unmerged)',
    },
    logits: {
      type: 'boolean',
      description: 'keep per-image secure and plaintext logits (in --json results and --out)',
    },
    out: {
      type: 'string',
      placeholder: 'FILE',
      description: 'write per-image results to FILE: CSV for .csv, else JSON',
    },
    json: { ...JSON_OPTION, description: 'print the report as JSON (per-image results only with --logits)' },
  },
  notes: [
    'locally, server and client run in two worker threads; with --server only the client runs here and needs no',
    'model: it works from the architecture the server sends; --reference M adds agreement, max |logit error| and',
    "plaintext accuracy (n/a / null without it), after checking M against the server's network (ARCH_MISMATCH)",
  ].join('\n'),
  async run({ values: o }, io) {
    if (o.server !== undefined && !/^wss?:\/\/[^\s/]+/.test(o.server))
      throw new PpnnError('ARGUMENT_INVALID', `--server must be a ws:// or wss:// URL, got '${o.server}'`);
    const remote = remoteOptions(o.server, o['token-file'], o.ca, o.pin);
    const model = referenceOption(o.server, o.model, o.reference);
    if (model) {
      await warnDatasetMismatch(io, model, o.dataset);
      const warning = missingBoundsWarning(await loadModel(model), model, o.dataset);
      if (warning) io.err(warning);
    }
    const bar = new ProgressBar(o.scheme, o.limit, io);
    const lines = new StageLines(io);
    let images = 0;
    const report = await runSession(
      {
        ...(model ? { model } : {}),
        dataset: o.dataset,
        limit: o.limit,
        scheme: o.scheme as SchemeId,
        ...(o.server ? { server: o.server, ...remote } : {}),
        ...(o.seed !== undefined ? { seed: o.seed } : {}),
        ...(o['input-bits'] !== undefined ? { inputBits: o['input-bits'] } : {}),
        ...(o['share-bits'] !== undefined ? { shareBits: o['share-bits'] } : {}),
        workers: o.workers,
        ...(o.prefetch > 0 ? { prefetch: o.prefetch } : {}),
        ...(o['target-error'] !== undefined ? { targetError: o['target-error'] } : {}),
        ...(o.logits ? { keepLogits: true } : {}),
      },
      {
        onEvent: (ev) => {
          lines.event(ev);
          if (ev.type === 'image') bar.update(++images, `acc ${(100 * ev.runningAccuracy).toFixed(1)}%`);
          else if (ev.type === 'layer-progress')
            bar.update(images, `preprocessing ${ev.layer} (${ev.index + 1}/${ev.total} layers)`, ev.etaMs);
          else if (ev.type === 'layer' && ev.stage !== 'online')
            bar.update(images, `preprocessed ${ev.layer} (${ev.index + 1}/${ev.total})`);
          else if (ev.type === 'stage' && ev.state === 'start') bar.update(images, `${ev.stage}…`);
        },
      },
    );
    bar.done();
    if (o.out) writeFileSync(o.out, perImageFile(report, o.out));
    if (report.precision && !report.precision.meetsTarget && report.precision.advice)
      io.err(`warning: ${report.precision.advice}`);
    if (o.json) {
      const { results, ...summary } = report;
      io.out(JSON.stringify(o.logits ? { ...summary, results } : summary));
    } else {
      io.out(formatReport(report));
      if (o.out) io.out(`per-image results: ${o.out}`);
    }
    return 0;
  },
});
