/**
 * The one door to node-seal: module loading, object ownership and exception translation.
 *
 * node-seal 7 exposes raw embind handles without finalizers, so every handle a call
 * returns (contexts, keys, ciphertexts, even `parmsId()` and `firstContextData()`) is
 * WASM memory that leaks unless `.delete()`d. Everything in core/he creates handles
 * through a `Scope`, which registers them in a per-thread live set and frees them in
 * `finally`. `liveSealObjects()` is that set's size: tests assert it returns to zero.
 *
 * C++ exceptions arrive as `WebAssembly.Exception` with `message = [type, what]`.
 * `sealGuard` is the only place they are turned into PpnnError (HE_ERROR unless the
 * caller names a more precise code, e.g. CIPHERTEXT_INVALID while loading peer bytes).
 */
import initSeal from 'node-seal';
import type { ClassHandle, MainModule } from 'node-seal';
import { PpnnError, isPpnnError } from '../errors.ts';
import type { ErrorCode } from '../errors.ts';

export type Seal = MainModule;

let sealPromise: Promise<Seal> | undefined;

/** The node-seal module for this thread (initialised once, ~20 ms). Throws HE_ERROR if WASM fails to load. */
export function loadSeal(): Promise<Seal> {
  sealPromise ??= initSeal().catch((e: unknown) => {
    sealPromise = undefined;
    throw new PpnnError(
      'HE_ERROR',
      `node-seal failed to load (Node ${process.versions.node}; node-seal 7 needs Node 22+): ${String(e)}`,
    );
  });
  return sealPromise;
}

const live = new Set<ClassHandle>();

/** Number of SEAL objects created through a Scope and not yet deleted (this thread). */
export function liveSealObjects(): number {
  return live.size;
}

/** Text of a node-seal exception ('std::logic_error: ciphertext data is invalid'). */
function sealExceptionText(e: unknown): string {
  const m = (e as { message?: unknown }).message;
  if (Array.isArray(m)) return m.filter((x) => typeof x === 'string').join(': ');
  return String(m ?? e);
}

/**
 * Run `fn`, translating a node-seal exception into PpnnError(code). PpnnErrors pass
 * through unchanged; other JS errors (embind BindingError, TypeError) become HE_ERROR too.
 * The single exception-translation point of core/he.
 */
export function sealGuard<T>(what: string, fn: () => T, code: ErrorCode = 'HE_ERROR'): T {
  try {
    return fn();
  } catch (e) {
    if (isPpnnError(e)) throw e;
    // WebAssembly.Exception carries message = [type, what]; embind errors are plain Errors.
    const text = Array.isArray((e as { message?: unknown } | null)?.message)
      ? sealExceptionText(e)
      : e instanceof Error
        ? e.message
        : String(e);
    throw new PpnnError(code, `${what}: ${text}`, { sealMessage: text });
  }
}

/**
 * Owner of SEAL handles. `own(x)` registers a handle for deletion; `free()` deletes all
 * of them (last created first) and is safe to call twice. `release(x)` frees one early.
 */
export class Scope {
  #owned: ClassHandle[] = [];

  own<T extends ClassHandle>(handle: T): T {
    live.add(handle);
    this.#owned.push(handle);
    return handle;
  }

  /** Delete one handle now (e.g. a large temporary inside a loop). */
  release(handle: ClassHandle): void {
    const i = this.#owned.lastIndexOf(handle);
    if (i >= 0) this.#owned.splice(i, 1);
    deleteHandle(handle);
  }

  get size(): number {
    return this.#owned.length;
  }

  free(): void {
    const owned = this.#owned;
    this.#owned = [];
    for (let i = owned.length - 1; i >= 0; i--) deleteHandle(owned[i]!);
  }
}

function deleteHandle(h: ClassHandle): void {
  live.delete(h);
  try {
    if (!h.isDeleted()) h.delete();
  } catch {
    /* already deleted through an alias: nothing left to free */
  }
}

/** Run `fn` with a temporary Scope freed in `finally` (also when fn throws). */
export function withScope<T>(fn: (scope: Scope) => T): T {
  const scope = new Scope();
  try {
    return fn(scope);
  } finally {
    scope.free();
  }
}
