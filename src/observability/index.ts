export { accessLog, bindRequestLog, REQUEST_ID_HEADER, UNMATCHED_ROUTE, writeAccessLine, type AccessFacts, type AccessLogOptions, type AccessLogState } from './access-log.ts';
export { securityEvent, SECURITY_EVENTS, type SecurityEventFields, type SecurityEventName } from './events.ts';
export { instrumentStore } from './instrument-store.ts';
export { createLogger, type LoggerOptions, type LogLevel } from './logger.ts';
export { CENSOR, redactSecrets, SECRET_HEADERS, SECRET_KEYS } from './redact.ts';
export {
  createMetrics,
  HTTP_METHODS,
  REFRESH_OUTCOMES,
  REPLAY_OUTCOMES,
  REVOCATION_OUTCOMES,
  STORE_OPS,
  type Metrics,
  type MetricsOptions,
  type StoreOp,
} from './metrics.ts';
export { createOpsApp, type OpsAppOptions } from './ops-server.ts';
export { createReadiness, DRAINING, type Readiness, type ReadinessCheck, type ReadinessOptions, type ReadinessReport } from './readiness.ts';
export { requestIdFrom } from './request-id.ts';
export { safeUrl, scrubText } from './scrub.ts';
export { serializeError, type SerializedError } from './serialize-error.ts';
export { sessionTag } from './session-tag.ts';
