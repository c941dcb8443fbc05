/** ONNX import entry point; the implementation lives in ./onnx/ (index, ops, tensors). */
export { importOnnx, SUPPORTED_ONNX_OPS } from './onnx/index.ts';
export type { ImportOnnxOptions } from './onnx/index.ts';
