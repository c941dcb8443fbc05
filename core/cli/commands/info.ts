import { loadModel } from '../../model/load.ts';
import { describeLayers, describeMergedLayers } from '../../model/describe.ts';
import { mergeModel } from '../../model/merge.ts';
import { modelSchemeSupport } from '../../runtime/checks.ts';
import { JSON_OPTION } from '../args.ts';
import { defineCommand } from '../command.ts';
import { MODEL_OPTION } from './options.ts';

export const infoCommand = defineCommand({
  name: 'info',
  summary: 'layers, shapes, parameters and metadata of a model, and which schemes can run it',
  options: { model: MODEL_OPTION, json: JSON_OPTION },
  async run({ values: o }, io) {
    const model = await loadModel(o.model);
    let params = 0;
    for (const l of model.layers) {
      if (l.kind === 'conv2d' || l.kind === 'dense') params += l.weight.length + l.bias.length;
      if (l.kind === 'batchnorm') params += 4 * l.channels;
    }
    const { inputBounds: _b, ...meta } = model.meta;
    const merged = mergeModel(model);
    const info = {
      name: model.name,
      inputShape: [...model.inputShape],
      parameters: params,
      layers: describeLayers(model),
      merged: describeMergedLayers(model, merged.model, merged.report.decisions),
      schemes: modelSchemeSupport(model),
      meta,
    };
    if (o.json) io.out(JSON.stringify(info));
    else {
      io.out(`${info.name}: input [${info.inputShape.join(',')}], ${params} parameters`);
      for (const l of info.layers) io.out(`  ${l.name.padEnd(28)} ${l.kind.padEnd(24)} [${l.output.join(',')}]`);
      io.out(`after merging (${info.merged.length} layers):`);
      for (const l of info.merged) io.out(`  ${l.name.padEnd(28)} ${l.kind.padEnd(24)} [${l.output.join(',')}]`);
      io.out('schemes:');
      for (const s of info.schemes)
        io.out(`  ${s.ok ? 'runs    ' : 'cannot  '} ${s.id.padEnd(12)} ${s.ok ? s.label : s.reason}`);
      for (const [k, v] of Object.entries(meta)) io.out(`  ${k}: ${JSON.stringify(v)}`);
    }
    return 0;
  },
});
