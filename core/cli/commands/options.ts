/**
 * Option specs shared by several commands, so `--model`, `--dataset`, `--scheme` and the
 * mask widths read the same in every command's --help.
 */
import { availableParallelism } from 'node:os';
import { datasetMismatch } from '../../data/match.ts';
import { loadModel } from '../../model/load.ts';
import { schemeIds } from '../../schemes/index.ts';
import type { CliIO, ListOption, NumberOption, StringOption } from '../command.ts';

/**
 * Say on stderr when the model's metadata names another dataset than `dataset` (e.g.
 * `--model fashion-mnist --dataset mnist`): the run goes on, its accuracy means nothing.
 */
export async function warnDatasetMismatch(io: Pick<CliIO, 'err'>, model: string, dataset: string): Promise<void> {
  const m = await loadModel(model);
  const warning = datasetMismatch(m.name, m.meta.dataset, dataset);
  if (warning) io.err(`warning: ${warning}`);
}

/** The scheme names every command accepts: the registry's (core/schemes/index.ts). */
export const SCHEME_NAMES: readonly string[] = schemeIds();

export const MODEL_OPTION = {
  type: 'string',
  required: true,
  placeholder: 'M',
  description: 'built-in model name (mnist, fashion-mnist, mnist-relu, …) or a .json/.onnx model file',
} as const satisfies StringOption;

export const DATASET_OPTION = {
  type: 'string',
  required: true,
  placeholder: 'D',
  description: 'mnist, fashion-mnist, an IDX directory or IMAGES:LABELS IDX files',
} as const satisfies StringOption;

export const SCHEME_OPTION = {
  type: 'string',
  values: SCHEME_NAMES,
  default: 'merged',
  description: 'protocol scheme',
} as const satisfies StringOption;

export const SCHEMES_OPTION = {
  type: 'list',
  values: SCHEME_NAMES,
  description: 'comma-separated schemes',
} as const satisfies ListOption;

export const INPUT_BITS_OPTION = {
  type: 'int',
  min: 0,
  max: 40,
  placeholder: 'K',
  defaultText: '6 (DEFAULT_MASKS)',
  description:
    "statistical hiding bits of the client's input masks: a mask 2^K times wider than the value it " +
    'hides leaks at most 2^-K per value (statistical distance); costs K bits of precision (docs/PROTOCOL.md)',
} as const satisfies NumberOption;

/** Default HE worker threads: one per core the machine offers. */
export const DEFAULT_WORKERS = Math.max(1, Math.min(16, availableParallelism()));

export const WORKERS_OPTION = {
  type: 'int',
  min: 0,
  max: 64,
  default: DEFAULT_WORKERS,
  placeholder: 'K',
  defaultText: `the core count (${DEFAULT_WORKERS} here)`,
  description: "the server's HE worker threads for preprocessing (0 or 1: evaluate inline in the session's thread)",
} as const satisfies NumberOption;

export const PREFETCH_OPTION = {
  type: 'int',
  min: 0,
  max: 256,
  default: 0,
  placeholder: 'K',
  description:
    'prepare the preprocessing material of K images before taking images in (refilled when used up): ' +
    'a prefetched image pays only the online stage (latency warm vs cold)',
} as const satisfies NumberOption;

export const SHARE_BITS_OPTION = {
  type: 'int',
  min: 0,
  max: 40,
  placeholder: 'K',
  defaultText: '5 (DEFAULT_MASKS)',
  description:
    "statistical hiding bits of the server's share masks (on M·r and the activation inputs), which keep " +
    'the weights from the client: leak <= 2^-K per value; costs K (or 2K) bits of precision (docs/PROTOCOL.md)',
} as const satisfies NumberOption;
