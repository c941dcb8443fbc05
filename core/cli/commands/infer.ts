import { runSession } from '../../runtime/session.ts';
import { SCHEME_IDS, type InferenceReport, type SchemeId } from '../../report/types.ts';
import { PpnnError } from '../../errors.ts';
import { boolFlag, intFlag, requireFlag, stringFlag } from '../args.ts';
import type { Command } from '../command.ts';
import { ProgressBar } from '../progress.ts';

/** Human-readable summary table of one report (also used by `ppnn report`). */
export function formatReport(r: InferenceReport): string {
  const kb = (b: number): string => (b / 1024).toFixed(1);
  const lines = [
    `${r.scheme} · ${r.model} on ${r.dataset} · ${r.images} images${r.server ? ` · server ${r.server}` : ''}`,
    `accuracy ${(100 * r.accuracy).toFixed(2)} % (plaintext ${(100 * r.plaintextAccuracy).toFixed(2)} %), agreement ${(100 * r.agreement).toFixed(2)} %, max |logit error| ${r.maxLogitError.toExponential(2)}`,
    'stage           wall ms   client ms  server ms   KiB c→s    KiB s→c  messages rounds',
  ];
  for (const [name, s] of Object.entries(r.stages)) {
    lines.push(`${name.padEnd(14)} ${s.wallMs.toFixed(0).padStart(9)} ${s.clientMs.toFixed(0).padStart(10)} ${s.serverMs.toFixed(0).padStart(10)} ${kb(s.bytesClientToServer).padStart(10)} ${kb(s.bytesServerToClient).padStart(10)} ${String(s.messages).padStart(9)} ${String(s.rounds).padStart(6)}`);
  }
  lines.push(`per image (median): online ${r.perImage.onlineMs.toFixed(2)} ms, ${kb(r.perImage.onlineBytes)} KiB; preprocessing ${r.perImage.preprocessingMs.toFixed(1)} ms, ${kb(r.perImage.preprocessingBytes)} KiB`);
  const he = r.stages.preprocessing.he;
  if (he) lines.push(`HE ops: ${Object.entries(he).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  if (r.ckks) lines.push(`CKKS: N=${r.ckks.polyModulusDegree}, primes [${r.ckks.coeffModulusBits.join(',')}], scale 2^${r.ckks.scaleBits}, ${r.ckks.slots} slots`);
  return lines.join('\n');
}

export const inferCommand: Command = {
  name: 'infer',
  summary: 'secure two-party inference (preprocessing + online) on N images',
  usage: 'ppnn infer --model M --dataset D [--limit N] [--scheme merged|unmerged|gazelle|cryptonets] [--server ws://HOST:PORT] [--seed S] [--input-bits K] [--share-bits K] [--json]\n  locally, server and client run in two worker threads; with --server only the client runs here\n  (the local --model is then used only for the plaintext reference figures)',
  async run(args, io) {
    const scheme = stringFlag(args, 'scheme', 'merged')!;
    if (!(SCHEME_IDS as readonly string[]).includes(scheme)) throw new PpnnError('ARGUMENT_INVALID', `--scheme must be one of ${SCHEME_IDS.join(', ')}, got '${scheme}'`);
    const limit = intFlag(args, 'limit', 100, 1, 1_000_000);
    const server = stringFlag(args, 'server');
    if (server !== undefined && !/^wss?:\/\/[^\s/]+/.test(server)) throw new PpnnError('ARGUMENT_INVALID', `--server must be a ws:// URL, got '${server}'`);
    const seedFlag = stringFlag(args, 'seed');
    const bar = new ProgressBar(scheme, limit, io);
    const report = await runSession(
      { model: requireFlag(args, 'model', 'a built-in name or a model file'), dataset: requireFlag(args, 'dataset', 'mnist, fashion-mnist or IDX files'), limit, scheme: scheme as SchemeId, ...(server ? { server } : {}), ...(seedFlag !== undefined ? { seed: intFlag(args, 'seed', 0) } : {}),
        ...(args.flags['input-bits'] !== undefined ? { inputBits: intFlag(args, 'input-bits', 6, 0, 40) } : {}),
        ...(args.flags['share-bits'] !== undefined ? { shareBits: intFlag(args, 'share-bits', 5, 0, 40) } : {}) },
      { onEvent: (ev) => { if (ev.type === 'image') bar.update(ev.result.index + 1, `acc ${(100 * ev.runningAccuracy).toFixed(1)}%`); } },
    );
    bar.done();
    if (boolFlag(args, 'json')) {
      const { results: _r, ...summary } = report;
      io.out(JSON.stringify(summary));
    } else io.out(formatReport(report));
    return 0;
  },
};
