/**
 * transport/protocol/: what crosses the wire between traders and gateways:
 * the WebSocket frames and their zod schemas, the byte layout of stream
 * frames, and the HTTP route table. Documented in openapi.json (HTTP) and
 * asyncapi-ws.json (WebSocket) beside this file.
 */
export { DELTA_KEY, SEQ_KEY, deltaHead, readFrameHead, writeUint } from './frame-bytes.js';
export { closeWording, ERROR_CLOSES } from './error-closes.js';
export type { ErrorClose } from './error-closes.js';
export {
  CLOSE,
  ClientFrameSchema,
  FrameCodec,
  FrameError,
  GATEWAY_REJECT_CODES,
  PROTOCOLS,
  PROTOCOL_JSON,
  PROTOCOL_MSGPACK,
  pickProtocol,
  WS_PATH,
} from './protocol.js';
export type { ClientFrame, ErrorCode, GatewayRejectCode, OrderOp, Protocol, ServerFrame, SessionLimits } from './protocol.js';
export { BODY_LIMITS, declares, HTTP_ROUTES, IDEMPOTENCY_KEY, LEADERBOARD_N, openApiPath, UNROUTED } from './routes.js';
export type { HttpRoute, HttpRouteAuth, HttpRouteName } from './routes.js';
