/**
 * The engine's public surface for front ends (CLI, Electron IPC, the browser web host).
 * Only plain data crosses it. Implementations live in core/runtime/*.ts.
 */
import type { InferenceReport, ProgressEvent, SchemeId } from '../report/types.ts';

export interface RunRequest {
  /**
   * built-in model name or a model file path. Local runs: the model run. Remote runs (`server`): optional, only
   * the plaintext reference (agreement, max logit error, plaintext accuracy), checked against the architecture
   * the server sends before set-up (ARCH_MISMATCH); without it those figures are null.
   */
  model?: string;
  /** built-in dataset name or IDX path */
  dataset: string;
  /** number of test images, from the start of the test split */
  limit: number;
  scheme: SchemeId;
  /** ws:// or wss://host:port of a `ppnn serve` server; local worker threads when absent */
  server?: string;
  /** remote only: the server's shared token (proved by challenge–response, never sent) */
  token?: string;
  /** remote wss:// only: PEM of the CA (or self-signed certificate) the server must chain to */
  ca?: string;
  /** remote wss:// only: 'sha256:HEX' fingerprint of the server's certificate */
  pin?: string;
  seed?: number;
  /** hiding bits of the client's input masks (docs/PROTOCOL.md); default 6 */
  inputBits?: number;
  /** hiding bits of the server's share masks (local runs; a remote server picks its own); default 5 */
  shareBits?: number;
  /** local runs: the server's HE worker threads for preprocessing (0 or 1: inline); default 1 */
  workers?: number;
  /** target max |logit error| the server plans its CKKS parameters for (local runs); default 1e-3 */
  targetError?: number;
  /** keep preprocessed material for K images ready before images are taken in (warm latency); 0: off */
  prefetch?: number;
  /** keep every image's secure and plaintext logits in `results` */
  keepLogits?: boolean;
}

export interface RunHandlers {
  onEvent?: (ev: ProgressEvent) => void;
  signal?: AbortSignal;
}

export type RunSession = (req: RunRequest, handlers?: RunHandlers) => Promise<InferenceReport>;
