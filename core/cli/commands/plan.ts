/**
 * `ppnn plan`: before a run, which schemes can run a model (and why not), and for every
 * scheme the cost model covers (the CKKS schemes; merged-ring and delphi on square
 * activations) the predicted time, bytes and max |logit error| per stage
 * (core/runtime/predict.ts and predict-ring.ts say how each figure is obtained).
 */
import { formatBytes, formatMs } from '../../report/format.ts';
import { loadModel } from '../../model/load.ts';
import { planRun, type SchemePlan, type StagePrediction } from '../../runtime/predict.ts';
import { JSON_OPTION } from '../args.ts';
import { defineCommand } from '../command.ts';
import { MODEL_OPTION, SCHEME_NAMES } from './options.ts';

function stageLine(name: string, s: StagePrediction, per: string): string {
  return (
    `    ${name.padEnd(14)} ${formatMs(s.ms).padStart(12)} ${formatBytes(s.bytesClientToServer).padStart(14)} ` +
    `${formatBytes(s.bytesServerToClient).padStart(14)}  ${per}`
  );
}

const noPre = (p: SchemePlan): boolean =>
  p.stages!.preprocessing.ms === 0 && p.stages!.preprocessing.bytesClientToServer === 0;

/** Text form of one scheme's plan. */
export function formatPlan(p: SchemePlan): string {
  if (!p.ok) return `${p.scheme}: cannot run this model: ${p.reason ?? 'unsupported'}`;
  if (!p.stages) return `${p.scheme}: ${p.notModelled ?? 'no prediction'}`;
  const he = p.bfv
    ? `BFV N=${p.bfv.polyModulusDegree}, primes [${p.bfv.coeffModulusBits.join(',')}], t = ${p.bfv.plainModulus}`
    : `CKKS N=${p.params!.polyModulusDegree}, primes [${p.params!.coeffModulusBits.join(',')}], scale ` +
      `2^${p.params!.scaleBits}`;
  const lines = [`${p.scheme}: ${he}${noPre(p) ? '' : `, batches of ${p.batch}`}`];
  lines.push('    stage              predicted      bytes c→s      bytes s→c');
  lines.push(stageLine('merging', p.stages.merging, 'once (measured now)'));
  lines.push(stageLine('key setup', p.stages.setup, 'once per session'));
  lines.push(stageLine('preprocessing', p.stages.preprocessing, noPre(p) ? 'none (HE online)' : 'per image'));
  lines.push(stageLine('online', p.stages.online, 'per image'));
  for (const s of p.perStep ?? []) {
    lines.push(
      `      ${s.name.padEnd(36)} ${formatMs(s.preprocessingMs).padStart(10)} ` +
        `${formatBytes(s.bytesClientToServer).padStart(12)} ${formatBytes(s.bytesServerToClient).padStart(12)}  ` +
        (s.predictedLogitError > 0 ? `logit error <= ${s.predictedLogitError.toExponential(1)}` : ''),
    );
  }
  if (p.logitError) {
    const e = p.logitError;
    lines.push(
      `    max |logit error| <= ${e.predicted.toExponential(2)} (bound; target ${e.target}: ` +
        `${e.meetsTarget ? 'met' : 'missed'})${e.advice ? `\n    ${e.advice}` : ''}`,
    );
  }
  return lines.join('\n');
}

export const planCommand = defineCommand({
  name: 'plan',
  summary: 'before a run: which schemes can run a model, predicted time, bytes and logit error per stage',
  options: {
    model: MODEL_OPTION,
    scheme: { type: 'string', values: SCHEME_NAMES, description: 'plan only this scheme (default: every scheme)' },
    batch: {
      type: 'int',
      default: 64,
      min: 1,
      max: 4096,
      description: 'images per preprocessing batch (the client default is 64)',
    },
    'target-error': {
      type: 'number',
      min: 1e-12,
      max: 1e3,
      default: 1e-3,
      description: 'max |logit error| the CKKS parameters are planned for',
    },
    json: JSON_OPTION,
  },
  notes:
    'times: per-op costs measured at plan time × op counts of the chosen layouts, + message chains timed now ' +
    'between two worker threads; bytes: real keys, uploads and frames',
  async run({ values: o }, io) {
    const model = await loadModel(o.model);
    const plans = await planRun(model, {
      ...(o.scheme ? { only: o.scheme } : {}),
      batch: o.batch,
      targetError: o['target-error'],
      onLog: (s) => io.err(s),
    });
    if (o.json) io.out(JSON.stringify({ model: model.name, plans }));
    else {
      io.out(`plan for ${model.name}`);
      for (const p of plans) io.out(formatPlan(p));
    }
    return 0;
  },
});
