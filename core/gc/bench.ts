/**
 * Garbled-circuit bench: raw garbling / evaluation throughput on one core, and the
 * activation layers of the bundled ReLU models (MNIST / Fashion-MNIST: conv 8@5×5 →
 * max-pool 2×2 → ReLU → conv 16@5×5 → max-pool 2×2 → ReLU → dense 64 → ReLU → dense 10)
 * run through the full protocol (set-up, offline exchange, online) with both roles in
 * this process over the in-memory transport.
 *
 * Time is reported as wall time and as this process's CPU time (process.cpuUsage): on a
 * shared, loaded machine the wall rate measures the queue, the CPU rate what one core
 * does. Both roles share the process, so a layer's online µs covers the server's label
 * encoding and the client's evaluation together (they are sequential online anyway).
 */
import { activationCircuit, ringBits, type ActivationSpec } from './activation-circuit.ts';
import { activeLabels, evaluate, garble, randomDelta } from './garble.ts';
import { maxPoolLayer, reluLayer, runActivationPair, type ActivationFigures } from './harness.ts';
import type { GcLayer } from './activation.ts';
import { FixedKeyPermutation } from './hash.ts';
import { uniformBelow } from './session.ts';

/** The ring family's prime (core/ring): 2^51 − 131071. */
export const BENCH_PRIME = 2 ** 51 - 131071;

export interface ThroughputFigures {
  circuit: string;
  andGates: number;
  wallMs: number;
  cpuMs: number;
  /** AND gates per second of wall time */
  andPerSecond: number;
  /** AND gates per second of CPU time (one core) */
  andPerCpuSecond: number;
}

export interface LayerBench {
  name: string;
  figures: ActivationFigures;
}

export interface GcBench {
  p: number;
  n: number;
  truncBits: number;
  garbling: ThroughputFigures;
  evaluation: ThroughputFigures;
  /** one ReLU, from a layer of `reluBatch` ReLUs divided by its size */
  perRelu: {
    andGates: number;
    offlineBytes: number;
    onlineBytes: number;
    onlineFloorBytes: number;
    onlineMicros: number;
  };
  layers: LayerBench[];
}

function cpuMsSince(c0: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(c0);
  return (d.user + d.system) / 1000;
}

function timed<T>(f: () => T): { value: T; wallMs: number; cpuMs: number } {
  const c0 = process.cpuUsage(),
    t0 = performance.now();
  const value = f();
  return { value, wallMs: performance.now() - t0, cpuMs: cpuMsSince(c0) };
}

/** Garble and evaluate `instances` ReLU circuits (best of `repeat` runs by CPU time). */
export function benchThroughput(
  spec: ActivationSpec,
  instances: number,
  repeat = 3,
): { garbling: ThroughputFigures; evaluation: ThroughputFigures } {
  const { circuit } = activationCircuit(spec);
  const perm = new FixedKeyPermutation();
  const ands = circuit.andCount * instances;
  const fig = (wallMs: number, cpuMs: number): ThroughputFigures => ({
    circuit: circuit.name,
    andGates: ands,
    wallMs,
    cpuMs,
    andPerSecond: ands / (wallMs / 1000),
    andPerCpuSecond: ands / (cpuMs / 1000),
  });
  let best: { garbling: ThroughputFigures; evaluation: ThroughputFigures } | undefined;
  for (let r = 0; r < repeat; r++) {
    const delta = randomDelta();
    const g = timed(() => garble(perm, circuit, instances, delta, 0));
    const labels = activeLabels(g.value.inputZero, new Uint8Array(circuit.inputCount * instances), delta);
    const e = timed(() => evaluate(perm, circuit, instances, labels, g.value.tables, g.value.decode, 0));
    if (!best || g.cpuMs < best.garbling.cpuMs)
      best = { garbling: fig(g.wallMs, g.cpuMs), evaluation: fig(e.wallMs, e.cpuMs) };
  }
  return best!;
}

function sharesFor(layer: GcLayer): { c: Float64Array; s: Float64Array } {
  const p = layer.spec.p;
  const c = uniformBelow(p, layer.inputSize),
    s = uniformBelow(p, layer.inputSize);
  return { c, s };
}

/**
 * The garbled-circuit steps the ring schemes plan for the bundled ReLU models: the
 * batch-norm between each max-pool and its ReLU is a linear step of its own, so the pool
 * (with the truncation) and the ReLU are separate circuits (test/gc/ring-plan.test.ts).
 */
export function mnistReluLayers(p: number, truncBits: number): { name: string; layer: GcLayer }[] {
  return [
    { name: 'pool1 8×24×24 → 8×12×12, max 2×2', layer: maxPoolLayer(p, truncBits, false, [8, 24, 24], 2, 2) },
    { name: 'relu1 ×1152', layer: reluLayer(p, truncBits, 8 * 12 * 12) },
    { name: 'pool2 16×8×8 → 16×4×4, max 2×2', layer: maxPoolLayer(p, truncBits, false, [16, 8, 8], 2, 2) },
    { name: 'relu2 ×256', layer: reluLayer(p, truncBits, 256) },
    { name: 'dense1 ReLU ×64', layer: reluLayer(p, truncBits, 64) },
  ];
}

/** Run the whole bench; `onProgress` gets one line per part. */
export async function runGcBench(
  opts: { p?: number; truncBits?: number; throughputInstances?: number; reluBatch?: number; images?: number },
  onProgress: (line: string) => void = () => {},
): Promise<GcBench> {
  const p = opts.p ?? BENCH_PRIME,
    truncBits = opts.truncBits ?? 13,
    n = ringBits(p);
  const spec: ActivationSpec = { p, truncBits, window: 1, relu: true };
  onProgress(`gc bench: garbling ${opts.throughputInstances ?? 4096} ReLU circuits…`);
  const { garbling, evaluation } = benchThroughput(spec, opts.throughputInstances ?? 4096);
  const reluBatch = opts.reluBatch ?? 1000;
  onProgress(`gc bench: a layer of ${reluBatch} ReLUs through the protocol…`);
  const single = reluLayer(p, truncBits, reluBatch);
  const sh = sharesFor(single);
  const { figures: rf } = await runActivationPair(single, [sh.c], [sh.s]);
  const perRelu = {
    andGates: rf.andGatesPerWindow,
    offlineBytes: rf.offlineBytesPerImage / reluBatch,
    onlineBytes: rf.onlineBytesPerImage / reluBatch,
    onlineFloorBytes: rf.onlineFloorBytesPerImage / reluBatch,
    onlineMicros: (rf.onlineMsPerImage * 1000) / reluBatch,
  };
  const layers: LayerBench[] = [];
  const images = opts.images ?? 1;
  for (const { name, layer } of mnistReluLayers(p, truncBits)) {
    onProgress(`gc bench: ${name}, ${images} image(s)…`);
    const cs: Float64Array[] = [],
      ss: Float64Array[] = [];
    for (let i = 0; i < images; i++) {
      const v = sharesFor(layer);
      cs.push(v.c);
      ss.push(v.s);
    }
    layers.push({ name, figures: (await runActivationPair(layer, cs, ss)).figures });
  }
  return { p, n, truncBits, garbling, evaluation, perRelu, layers };
}

const kib = (b: number): string => (b / 1024).toFixed(1);

/** The bench as a plain-text table. */
export function formatGcBench(b: GcBench): string {
  const m = (x: number): string => (x / 1e6).toFixed(2);
  const lines = [
    `p = ${b.p} (${b.n} bits), truncation f = ${b.truncBits}`,
    `garbling   ${b.garbling.circuit}: ${m(b.garbling.andPerCpuSecond)} M AND/s per CPU second, ` +
      `${m(b.garbling.andPerSecond)} M AND/s wall (${b.garbling.andGates} ANDs in ${b.garbling.wallMs.toFixed(0)} ms)`,
    `evaluation ${b.evaluation.circuit}: ${m(b.evaluation.andPerCpuSecond)} M AND/s per CPU second, ` +
      `${m(b.evaluation.andPerSecond)} M AND/s wall`,
    `per ReLU: ${b.perRelu.andGates} AND, offline ${kib(b.perRelu.offlineBytes)} KiB, ` +
      `online ${b.perRelu.onlineBytes.toFixed(1)} B ` +
      `(floor ${b.perRelu.onlineFloorBytes.toFixed(1)} B), online ${b.perRelu.onlineMicros.toFixed(1)} µs`,
    '',
    'layer (per image)                              windows  AND/window  offline KiB  online B  floor B' +
      '  offline ms  online ms',
  ];
  for (const { name, figures: f } of b.layers) {
    lines.push(
      `${name.padEnd(46)} ${String(f.windows).padStart(7)} ${String(f.andGatesPerWindow).padStart(11)} ` +
        `${kib(f.offlineBytesPerImage).padStart(12)} ${f.onlineBytesPerImage.toFixed(0).padStart(9)} ` +
        `${f.onlineFloorBytesPerImage.toFixed(0).padStart(8)} ${f.offlineMsPerImage.toFixed(0).padStart(11)} ` +
        `${f.onlineMsPerImage.toFixed(1).padStart(10)}`,
    );
  }
  const tot = b.layers.reduce(
    (a, { figures: f }) => ({
      off: a.off + f.offlineBytesPerImage,
      on: a.on + f.onlineBytesPerImage,
      ms: a.ms + f.onlineMsPerImage,
      offMs: a.offMs + f.offlineMsPerImage,
    }),
    { off: 0, on: 0, ms: 0, offMs: 0 },
  );
  lines.push(
    `${'all activation layers'.padEnd(46)} ${''.padStart(7)} ${''.padStart(11)} ${kib(tot.off).padStart(12)} ` +
      `${tot.on.toFixed(0).padStart(9)} ${''.padStart(8)} ${tot.offMs.toFixed(0).padStart(11)} ` +
      `${tot.ms.toFixed(1).padStart(10)}`,
  );
  return lines.join('\n');
}
