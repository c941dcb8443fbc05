import { writeFileSync } from 'node:fs';
import { modelToJSON } from '../../model/json.ts';
import { loadModel } from '../../model/load.ts';
import { mergeModel, type LinearCost } from '../../model/merge.ts';
import { describeLayers, describeMergedLayers } from '../../model/describe.ts';
import { JSON_OPTION } from '../args.ts';
import { defineCommand } from '../command.ts';
import { MODEL_OPTION } from './options.ts';

const fmt = (c: LinearCost): string =>
  `maps→rounds ${c.onlineRounds}, MACs ${Math.round(c.macs)}, ct×pt ${c.heCtPtMul.toFixed(1)}, HE levels ` +
  `${c.heLevels}, online bytes ${c.onlineBytes}, est ${c.estimatedMs.toFixed(2)} ms`;

export const mergeCommand = defineCommand({
  name: 'merge',
  summary: 'run the merging stage: layers and counts before/after, per-merge savings',
  options: {
    model: MODEL_OPTION,
    out: { type: 'string', placeholder: 'FILE', description: 'also write the merged model as JSON to FILE' },
    json: JSON_OPTION,
  },
  async run({ values: o }, io) {
    const model = await loadModel(o.model);
    const t0 = performance.now();
    const { model: merged, report } = mergeModel(model);
    const ms = performance.now() - t0;
    const out = o.out;
    if (out) writeFileSync(out, JSON.stringify(modelToJSON(merged)));
    const result = {
      model: model.name,
      mergeMs: ms,
      before: { layers: describeLayers(model), counts: report.before },
      after: { layers: describeMergedLayers(model, merged, report.decisions), counts: report.after },
      saved: report.saved,
      decisions: report.decisions,
    };
    if (o.json) {
      io.out(JSON.stringify(result));
      return 0;
    }
    io.out(
      `model ${model.name}: ${model.layers.length} layers → ${merged.layers.length} layers (merging took ` +
        `${ms.toFixed(1)} ms)`,
    );
    io.out('before:');
    for (const l of result.before.layers) io.out(`  ${l.name.padEnd(28)} ${l.kind.padEnd(10)} [${l.output.join(',')}]`);
    io.out('after:');
    for (const l of result.after.layers) io.out(`  ${l.name.padEnd(28)} ${l.kind.padEnd(10)} [${l.output.join(',')}]`);
    io.out('decisions:');
    for (const d of report.decisions)
      io.out(`  ${d.accepted ? 'merged ' : 'kept   '} ${d.layers.join(' + ')}: ${d.reason}`);
    io.out(`before: ${fmt(report.before.cost)}`);
    io.out(`after:  ${fmt(report.after.cost)}`);
    io.out(`saved:  ${fmt(report.saved)}`);
    return 0;
  },
});
