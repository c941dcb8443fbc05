/** CKKS preprocessing layer: public surface of core/he. */
export {
  chooseParams,
  validateParams,
  predictedPrecision,
  paramsFingerprint,
  maxUploadScaleBits,
  checkUploadScaleBits,
  noiseBits,
  MAX_BITS_128,
} from './params.ts';
export type { CkksParams, ParamsRequest } from './params.ts';
export { HeClient } from './client.ts';
export type { EncryptOptions, DecryptedShares } from './client.ts';
export { HeServer } from './server.ts';
export type { EvaluateOptions, EvaluateResult, OnSharesOptions, ServerOptions } from './server.ts';
export { activationLevels } from './online.ts';
export type { PolyActivation } from './online.ts';
export { planLayer, simulatePlan } from './layout.ts';
export type { Conv2dSpec, DenseSpec, HeLayerSpec, HePlan, Layout } from './layout.ts';
export { DEFAULT_KEY_BATCHES, rotationStepsFor } from './setup.ts';
export { liveSealObjects, loadSeal } from './seal.ts';
export type { HeStats, HeLayerStats, HeOpCounts, CiphertextRecord } from './stats.ts';
export { zeroCounts, addCounts, OP_NAMES } from './stats.ts';
