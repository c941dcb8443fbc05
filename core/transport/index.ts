/** Public surface of the transport layer: framing, the Transport interface, implementations. */
export {
  bytesToF64,
  decodeFrame,
  encodeFrame,
  f64ToBytes,
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_MAX_BLOBS,
  MAX_TAG_BYTES,
} from './frame.ts';
export type { FrameLimits, Message } from './frame.ts';
export { ERROR_TAG, expectMessage, sendError } from './transport.ts';
export type { ReceiveOptions, Transport, TransportStats } from './transport.ts';
export { memoryPair } from './memory.ts';
export { messagePortTransport } from './message-port.ts';
export { wsConnect, wsListen } from './websocket.ts';
export type { SessionInfo, WsConnectOptions, WsListenOptions, WsServerHandle } from './websocket.ts';
