/**
 * Resolve a model argument — a built-in name (`mnist`, `fashion-mnist`, `mnist-relu`, …,
 * i.e. assets/models/NAME.json) or a path to a .json / .onnx file — into a validated Model.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PpnnError } from '../errors.ts';
import { parseModel } from './json.ts';
import type { Model } from './types.ts';

/** Folder of the bundled models (works from the source tree and from the built app). */
export const MODELS_DIR = fileURLToPath(new URL('../../assets/models/', import.meta.url));

/** Names of the bundled models, sorted. */
export function builtinModels(): string[] {
  if (!existsSync(MODELS_DIR)) return [];
  return readdirSync(MODELS_DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -5))
    .sort();
}

/** Load a model from bytes whose format is given by `fileName`'s extension (.json or .onnx). */
export async function modelFromBytes(bytes: Uint8Array, fileName: string): Promise<Model> {
  const ext = extname(fileName).toLowerCase();
  if (ext === '.onnx') {
    const { importOnnx } = await import('./onnx/index.ts');
    return importOnnx(bytes, { name: fileName.replace(/^.*[\\/]/, '').replace(/\.onnx$/i, '') });
  }
  return parseModel(Buffer.from(bytes).toString('utf8'));
}

/**
 * Load `nameOrPath`. Throws MODEL_UNKNOWN (naming the built-ins) when it is neither a
 * bundled model nor an existing file, MODEL_INVALID / MODEL_UNSUPPORTED_OP from parsing.
 */
export async function loadModel(nameOrPath: string): Promise<Model> {
  if (typeof nameOrPath !== 'string' || nameOrPath.length === 0)
    throw new TypeError('loadModel: nameOrPath must be a non-empty string');
  const builtin = join(MODELS_DIR, `${nameOrPath}.json`);
  const path = /^[\w-]+$/.test(nameOrPath) && existsSync(builtin) ? builtin : nameOrPath;
  if (!existsSync(path)) {
    throw new PpnnError(
      'MODEL_UNKNOWN',
      `no model '${nameOrPath}': not a built-in (${builtinModels().join(', ') || 'none bundled'}) and no such file`,
    );
  }
  return modelFromBytes(readFileSync(path), path);
}
