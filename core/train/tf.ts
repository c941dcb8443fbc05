/**
 * TensorFlow.js set-up for training in Node: tfjs-core + the WebAssembly backend.
 *
 * Two wrinkles, handled here once:
 * - tfjs-core's CommonJS bundle (what `import '@tensorflow/tfjs-core'` loads in Node)
 *   registers no gradients; they live only in its ES-module build, whose internal imports
 *   omit the `.js` extension that Node's ESM resolver requires. A resolve hook, scoped to
 *   files inside @tensorflow packages, appends it. Both builds share tfjs's global engine
 *   and registries, so gradients registered by one are used by the other.
 * - The wasm backend fetches its .wasm binary; we point it at the package's dist
 *   directory as a file path (no network). Threads are off: Node lacks the cross-origin
 *   isolation the threaded build expects, and the machine is shared anyway.
 */
import * as nodeModule from 'node:module';
import path from 'node:path';
import { PpnnError } from '../errors.ts';

export type TF = typeof import('@tensorflow/tfjs-core');

let ready: Promise<TF> | undefined;

/**
 * The initialised tfjs namespace with the wasm backend active (memoised). Throws INTERNAL when the backend fails to
 * start.
 */
export function loadTf(): Promise<TF> {
  ready ??= init().catch((e: unknown) => {
    ready = undefined;
    throw new PpnnError('INTERNAL', `could not start TensorFlow.js wasm backend: ${(e as Error).message ?? e}`);
  });
  return ready;
}

let hooked = false;

async function init(): Promise<TF> {
  // registerHooks exists from Node 22.15; where it does not (or under vitest, whose module
  // runner resolves extension-less imports itself) the plain import below is tried as is.
  if (!hooked && typeof nodeModule.registerHooks === 'function') {
    hooked = true;
    nodeModule.registerHooks({
      resolve(specifier, context, nextResolve) {
        const fromTfjs = context.parentURL?.includes('/@tensorflow/') === true;
        if (fromTfjs && (specifier.startsWith('./') || specifier.startsWith('../')) && !specifier.endsWith('.js')) {
          return nextResolve(`${specifier}.js`, context);
        }
        return nextResolve(specifier, context);
      },
    });
  }
  const tf = (await import('@tensorflow/tfjs-core')) as TF;
  await import('@tensorflow/tfjs-core/dist/register_all_gradients.js');
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const require = nodeModule.createRequire(import.meta.url);
  const wasmDir =
    path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep;
  wasm.setWasmPaths(wasmDir);
  if (!(await tf.setBackend('wasm'))) throw new Error('tf.setBackend("wasm") returned false');
  await tf.ready();
  return tf;
}
