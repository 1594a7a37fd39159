export { accessLog, bindRequestLog, writeAccessLine, type AccessLogState } from './access-log.ts';
export { securityEvent } from './events.ts';
export { instrumentStore } from './instrument-store.ts';
export { CENSOR, createLogger } from './logger.ts';
export { createMetrics, type Metrics } from './metrics.ts';
export { createOpsApp } from './ops-server.ts';
export { createReadiness, DRAINING, type Readiness, type ReadinessReport } from './readiness.ts';
export { requestIdFrom } from './request-id.ts';
export { sessionTag } from './session-tag.ts';
