/**
 * Work done once instead of per batch (issue 14):
 *
 * WeightCache  encoded weight plaintexts, keyed by (parameters, weights, layout, plaintext
 *              id, level, scale factor). A plan's weight vectors do not depend on the batch
 *              size, so one encoding serves every batch and every session on the same
 *              parameters (a Plaintext is tied to the parameter set, not to one SEALContext
 *              object). Bounded LRU by bytes; its SEAL handles are owned by the cache and
 *              freed by clear() (or eviction), so liveSealObjects() returns to 0 after it.
 * ZeroPool     public-key encryptions of zero (circuit privacy, docs/HE.md) made ahead of
 *              need, one per event-loop turn while the thread would otherwise wait for the
 *              peer. Every zero is taken exactly once, so each returned ciphertext still
 *              gets its own fresh Enc_pk(0); only WHEN it is computed changes. Encryptions
 *              of zero do not depend on the scale, which is set when the zero is taken.
 */
import type { Ciphertext, Encryptor, Plaintext } from 'node-seal';
import type { HeContext } from './context.ts';
import { Scope, sealGuard } from './seal.ts';

export interface WeightCacheStats {
  entries: number;
  bytes: number;
  maxBytes: number;
  hits: number;
  misses: number;
  evictions: number;
}

/** Default bound of a weight cache: plenty for the bundled models (≈ 140 MB at N = 8192). */
export const DEFAULT_WEIGHT_CACHE_BYTES = 512 * 1024 * 1024;

export class WeightCache {
  readonly maxBytes: number;
  readonly #scope = new Scope();
  // Map iteration order = insertion order: re-inserting on a hit makes it an LRU
  readonly #entries = new Map<string, { pt: Plaintext | null; bytes: number }>();
  #bytes = 0;
  #hits = 0;
  #misses = 0;
  #evictions = 0;

  constructor(maxBytes = DEFAULT_WEIGHT_CACHE_BYTES) {
    this.maxBytes = maxBytes;
  }

  /** The cached plaintext for `key` (null = all-zero weights), or build it with `encode` (into the cache's scope). */
  get(key: string, bytes: number, encode: (scope: Scope) => Plaintext | null): Plaintext | null {
    const hit = this.#entries.get(key);
    if (hit) {
      this.#hits++;
      this.#entries.delete(key);
      this.#entries.set(key, hit);
      return hit.pt;
    }
    this.#misses++;
    const pt = encode(this.#scope);
    const size = pt ? bytes : 0;
    this.#entries.set(key, { pt, bytes: size });
    this.#bytes += size;
    return pt;
  }

  /**
   * Evict least recently used entries down to maxBytes. Called by the evaluator AFTER a
   * job (never during one: the job still holds the plaintexts it fetched).
   */
  trim(): void {
    for (const [k, e] of this.#entries) {
      if (this.#bytes <= this.maxBytes) return;
      this.#entries.delete(k);
      this.#bytes -= e.bytes;
      this.#evictions++;
      if (e.pt) this.#scope.release(e.pt);
    }
  }

  stats(): WeightCacheStats {
    return {
      entries: this.#entries.size,
      bytes: this.#bytes,
      maxBytes: this.maxBytes,
      hits: this.#hits,
      misses: this.#misses,
      evictions: this.#evictions,
    };
  }

  /** Free every cached plaintext (safe to call twice; the cache stays usable). */
  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
    this.#scope.free();
  }
}

/** Identity of a weight array within this thread (cheap: no hashing of big matrices). */
const weightIds = new WeakMap<Float64Array, string>();

/**
 * A key naming these weights: stable for the same array object, and for a copy carrying
 * the same content (workers receive copies) thanks to a content hash computed once.
 */
export function weightKey(weight: Float64Array): string {
  let id = weightIds.get(weight);
  if (!id) {
    // FNV-1a over the bytes: copies of the same weights (e.g. in a worker) get the same key
    const bytes = new Uint8Array(weight.buffer, weight.byteOffset, weight.byteLength);
    let h = 0x811c9dc5,
      h2 = 5381;
    for (let i = 0; i < bytes.length; i++) {
      h = Math.imul(h ^ bytes[i]!, 0x01000193);
      h2 = (Math.imul(h2, 33) + bytes[i]!) | 0;
    }
    id = `${weight.length}:${(h >>> 0).toString(16)}${(h2 >>> 0).toString(16)}`;
    weightIds.set(weight, id);
  }
  return id;
}

export interface ZeroPoolStats {
  made: number;
  taken: number;
  madeAhead: number;
  ready: number;
}

/** Fresh Enc_pk(0) per level, produced ahead of need (see the file comment). */
export class ZeroPool {
  readonly #he: HeContext;
  readonly #encryptor: Encryptor;
  readonly #scope = new Scope();
  readonly #ready = new Map<number, Ciphertext[]>();
  /** how many to hold per level: the sum of what each layer (tag) needed in its last batch */
  readonly #target = new Map<number, number>();
  readonly #needs = new Map<string, number>();
  readonly #cap: number;
  #filling = false;
  #closed = false;
  #made = 0;
  #taken = 0;
  #madeAhead = 0;

  constructor(he: HeContext, encryptor: Encryptor, cap = 512) {
    this.#he = he;
    this.#encryptor = encryptor;
    this.#cap = cap;
  }

  #make(level: number): Ciphertext {
    const he = this.#he;
    const zero = he.encode(this.#scope, new Float64Array(0), he.scale, level);
    return sealGuard('encrypting zero', () => {
      const ct = this.#scope.own(new he.seal.Ciphertext());
      this.#encryptor.encrypt(zero, ct);
      this.#scope.release(zero);
      this.#made++;
      return ct;
    });
  }

  /**
   * A fresh encryption of zero at `level` with `scale`, owned by `scope` (the caller).
   * Counted as one of the zeroEncryptions of the current layer whether it was ready or made now.
   */
  take(scope: Scope, level: number, scale: number): Ciphertext {
    const he = this.#he;
    const ready = this.#ready.get(level);
    let ct = ready?.pop();
    if (!ct) ct = this.#make(level);
    else this.#madeAhead++;
    // hand the handle over from the pool's scope to the caller's
    const out = scope.own(sealGuard('copying a zero', () => ct.copy()));
    this.#scope.release(ct);
    sealGuard('setting the scale of a zero', () => out.setScale(scale));
    this.#taken++;
    he.stats.count('zeroEncryptions');
    return out;
  }

  /**
   * Declare that `tag` (a layer) uses `count` zeros at `level` per batch: the pool keeps
   * the sum over tags ready (at most `cap` per level), made in the background.
   */
  want(tag: string, level: number, count: number): void {
    this.#needs.set(`${level}|${tag}`, count);
    let sum = 0;
    for (const [k, n] of this.#needs) if (k.startsWith(`${level}|`)) sum += n;
    this.#target.set(level, Math.min(this.#cap, sum));
    this.#schedule();
  }

  #schedule(): void {
    if (this.#filling || this.#closed) return;
    this.#filling = true;
    // one encryption per macrotask: a peer message arriving meanwhile waits ≤ one encryption
    setImmediate(() => {
      this.#filling = false;
      if (this.#closed) return;
      for (const [level, n] of this.#target) {
        const ready = this.#ready.get(level) ?? [];
        this.#ready.set(level, ready);
        if (ready.length < n) {
          ready.push(this.#make(level));
          this.#schedule();
          return;
        }
      }
    });
  }

  stats(): ZeroPoolStats {
    let ready = 0;
    for (const r of this.#ready.values()) ready += r.length;
    return { made: this.#made, taken: this.#taken, madeAhead: this.#madeAhead, ready };
  }

  /** Stop filling and free the ready zeros (safe to call twice). */
  close(): void {
    this.#closed = true;
    this.#ready.clear();
    this.#scope.free();
  }
}
