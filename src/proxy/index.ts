export { createProxy, type CreateProxyOptions, type GatewayProxy } from './create-proxy.ts';
export { HeaderPolicy, type ForwardFacts, type HeaderPolicyOptions } from './headers.ts';
export { RouteTable, type Route, type RouteMatch } from './route-table.ts';
export type { UpgradeSessionReader } from './upgrade.ts';
export type { ReplayResult } from './replay.ts';
export type { ProxyMetrics, ProxyOptions } from './types.ts';
