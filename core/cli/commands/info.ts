import { loadModel } from '../../model/load.ts';
import { JSON_OPTION } from '../args.ts';
import { defineCommand } from '../command.ts';
import { MODEL_OPTION } from './options.ts';
import { describeLayers } from '../../model/describe.ts';

export const infoCommand = defineCommand({
  name: 'info',
  summary: 'layers, shapes, parameter count and metadata of a model',
  options: { model: MODEL_OPTION, json: JSON_OPTION },
  async run({ values: o }, io) {
    const model = await loadModel(o.model);
    let params = 0;
    for (const l of model.layers) {
      if (l.kind === 'conv2d' || l.kind === 'dense') params += l.weight.length + l.bias.length;
      if (l.kind === 'batchnorm') params += 4 * l.channels;
    }
    const { inputBounds: _b, ...meta } = model.meta;
    const info = { name: model.name, inputShape: [...model.inputShape], parameters: params, layers: describeLayers(model), meta };
    if (o.json) io.out(JSON.stringify(info));
    else {
      io.out(`${info.name}: input [${info.inputShape.join(',')}], ${params} parameters`);
      for (const l of info.layers) io.out(`  ${l.name.padEnd(28)} ${l.kind.padEnd(10)} [${l.output.join(',')}]`);
      for (const [k, v] of Object.entries(meta)) io.out(`  ${k}: ${JSON.stringify(v)}`);
    }
    return 0;
  },
});
