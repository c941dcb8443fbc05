import { loadModel } from '../../model/load.ts';
import { boolFlag, requireFlag } from '../args.ts';
import type { Command } from '../command.ts';
import { describeLayers } from './merge.ts';

export const infoCommand: Command = {
  name: 'info',
  summary: 'layers, shapes, parameter count and metadata of a model',
  usage: 'ppnn info --model M [--json]',
  async run(args, io) {
    const model = await loadModel(requireFlag(args, 'model', 'a built-in name or a model file'));
    let params = 0;
    for (const l of model.layers) {
      if (l.kind === 'conv2d' || l.kind === 'dense') params += l.weight.length + l.bias.length;
      if (l.kind === 'batchnorm') params += 4 * l.channels;
    }
    const { inputBounds: _b, ...meta } = model.meta;
    const info = { name: model.name, inputShape: [...model.inputShape], parameters: params, layers: describeLayers(model), meta };
    if (boolFlag(args, 'json')) io.out(JSON.stringify(info));
    else {
      io.out(`${info.name}: input [${info.inputShape.join(',')}], ${params} parameters`);
      for (const l of info.layers) io.out(`  ${l.name.padEnd(28)} ${l.kind.padEnd(10)} [${l.output.join(',')}]`);
      for (const [k, v] of Object.entries(meta)) io.out(`  ${k}: ${JSON.stringify(v)}`);
    }
    return 0;
  },
};
