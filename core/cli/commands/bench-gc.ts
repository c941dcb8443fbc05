/**
 * `ppnn bench --stage gc`: garbling throughput on one core and the garbled-circuit
 * activation layers of the bundled ReLU models, each through the full protocol
 * (core/gc/bench.ts). `--images` sets the images per layer.
 */
import { formatGcBench, runGcBench } from '../../gc/bench.ts';
import type { CliIO } from '../command.ts';

/** Run the gc bench with `ppnn bench --stage gc`'s options; prints a table or JSON. */
export async function runGcBenchCommand(o: { images: number; json: boolean }, io: CliIO): Promise<number> {
  const bench = await runGcBench({ images: o.images }, (line) => io.err(line));
  io.out(o.json ? JSON.stringify(bench) : formatGcBench(bench));
  return 0;
}
