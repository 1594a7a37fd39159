import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { startOpenIdProvider, type OpenIdProviderHandle } from '../demo/op.ts';
import type { BenchOptions } from './args.ts';
import { buildGateway } from './build.ts';
import { childEntry, startChild, type ChildHandle } from './child.ts';
import { Cleanup } from './cleanup.ts';
import { API_PATH, callbackUrl, gatewayConfig, generateGatewayKeys, type GatewayKeys } from './gateway-config.ts';
import { freePorts } from './listen.ts';
import { currentLoadAverage, machineInfo } from './machine.ts';
import { ALLOCATION_PROFILE, profileGateway } from './profile-run.ts';
import { startRedis, type BenchRedis, type RedisCounters } from './redis.ts';
import type { BenchResults, FixedRateResult, RowId, RowResult, SkippedRow } from './results.ts';
import { compareAtRate, measure, warmUp, type FixedRateComparison, type MeasuredRow, type RowTarget } from './rows.ts';
import { apiHeaders, assertProxied, loginForLoad } from './session.ts';
import { runStorm } from './storm.ts';
import { apacheMissing, apacheRedirectUri, loginThroughApache, startApache } from './apache.ts';
import { measureInvalidation } from './invalidation.ts';
import { checkTargets } from './targets.ts';
import { redisPerRequest } from './redis-usage.ts';

/**
 * One benchmark run, every setup against the same upstream with the same connections and
 * duration: (a) the upstream, (b) a bare http-proxy-3 proxy, (u) a bare undici proxy, (c)
 * Tokengate on Redis, (d) Tokengate on the memory store, (p) Tokengate on Redis with a DPoP-bound
 * session (a proof signed per request), (m) Apache + mod_auth_openidc (skipped,
 * with the reason, when not installed), then the fixed-rate latency of (b) and (c), (e) the
 * refresh storm and the near cache's invalidation bound across two replicas. Every server runs in
 * its own process; everything listens on 127.0.0.1; everything is stopped at the end, whatever
 * happened. The load generator is wrk (load.ts).
 */
const STORM_TOKEN_TTL_S = 6;
const FIXED_RATE_ROUNDS = 4;

export type Log = (line: string) => void;

interface Fixture {
  upstream: ChildHandle;
  redis: BenchRedis;
  provider: OpenIdProviderHandle;
  client: { clientId: string; clientSecret: string };
  keys: GatewayKeys;
  ports: { c: number; d: number; p: number; profile: number };
  /** The gateway child's entry: compiled JavaScript, or the TypeScript source with --source. */
  gatewayEntry: string;
}

export async function runBench(options: BenchOptions, log: Log): Promise<BenchResults> {
  const startedAt = new Date().toISOString();
  const loadAtStart = currentLoadAverage();
  if (loadAtStart > 0.5) log(`warning: the machine is busy (load average ${loadAtStart}); the numbers will suffer`);
  const cleanup = new Cleanup();
  try {
    const fixture = await startFixture(options, cleanup, log);
    const rows: RowResult[] = [];
    const upstreamTarget: RowTarget = { url: `${fixture.upstream.url}${API_PATH}`, pid: fixture.upstream.pid };

    log('(a) upstream, directly');
    const a = await measureRow(upstreamTarget, options);

    log('(b) bare http-proxy-3, no auth');
    const bare = await startChild('bare proxy', childEntry('bare-proxy'), { init: { target: fixture.upstream.url } });
    cleanup.add('bare proxy', () => bare.stop());
    const bareTarget: RowTarget = { url: `${bare.url}${API_PATH}`, pid: bare.pid };
    const b = await measureRow(bareTarget, options);
    const bRps = b.load.rps;

    log('(u) bare undici Pool proxy, no auth');
    const undici = await startChild('undici proxy', childEntry('undici-proxy'), { init: { target: fixture.upstream.url } });
    cleanup.add('undici proxy', () => undici.stop());
    const u = await measureRow({ url: `${undici.url}${API_PATH}`, pid: undici.pid }, options);
    await undici.stop();

    log('(c) Tokengate, session in Redis');
    const gatewayC = await startGateway(fixture, options, 'gateway (c)', fixture.ports.c, fixture.redis.url, cleanup);
    const c = await measureGatewayRow(gatewayC, fixture, options, true);
    log(`(c) used ${c.measured.cpuUsPerRequest?.toFixed(0)} us CPU per request in the gateway, ${c.measured.redisCpuUsPerRequest?.toFixed(0)} us in redis-server`);

    log(`(b) and (c) at a fixed ${Math.round(bRps / 2)} rps (50% of (b)'s max)`);
    const rounds = options.smoke ? 1 : FIXED_RATE_ROUNDS;
    const fixed = await compareAtRate(bareTarget, c.target, bRps / 2, options, rounds);
    // When (c) cannot even carry half of (b)'s maximum, the issue's comparison measures queueing;
    // the same comparison at half of (c)'s maximum shows what a request costs when neither queues.
    const cRps = c.measured.load.rps;
    const lowRate = cRps < bRps ? cRps / 2 : undefined;
    if (lowRate !== undefined) log(`(b) and (c) at a fixed ${Math.round(lowRate)} rps (50% of (c)'s max)`);
    const fixedLow = lowRate === undefined ? undefined : await compareAtRate(bareTarget, c.target, lowRate, options, rounds);
    const redis = await redisPerRequest(fixture.redis, c.target, c.redisDuringLoad, options.smoke ? 50 : 500);
    await gatewayC.stop();
    await bare.stop();

    log('(d) Tokengate, memory store');
    const gatewayD = await startGateway(fixture, options, 'gateway (d)', fixture.ports.d, undefined, cleanup);
    const d = await measureGatewayRow(gatewayD, fixture, options, false);
    await gatewayD.stop();

    log('(p) Tokengate, session in Redis, DPoP-bound (RFC 9449)');
    const gatewayP = await startGateway(fixture, options, 'gateway (p)', fixture.ports.p, fixture.redis.url, cleanup, undefined, undefined, { dpop: true });
    const p = await measureGatewayRow(gatewayP, fixture, options, true);
    log(`(p) used ${p.measured.cpuUsPerRequest?.toFixed(0)} us CPU per request in the gateway (c: ${c.measured.cpuUsPerRequest?.toFixed(0)})`);
    await gatewayP.stop();

    const skipped: SkippedRow[] = [];
    let m: MeasuredRow | undefined;
    const apacheReason = apacheMissing();
    if (apacheReason !== undefined) {
      log(`(m) Apache + mod_auth_openidc: SKIPPED, ${apacheReason}`);
      skipped.push({ id: 'm', label: APACHE_LABEL, reason: apacheReason });
    } else {
      log('(m) Apache + mod_auth_openidc, sessions in Redis');
      m = await measureApacheRow(fixture, options, cleanup);
    }

    log(`(e) refresh storm: ${options.stormRequests} requests over 2 gateways sharing Redis`);
    // Ports taken just before they are used: on a shared machine a port found free minutes earlier may not be.
    const [stormA, stormB] = (await freePorts(2)) as [number, number];
    const stormProvider = await startOpenIdProvider({
      clients: [{ ...fixture.client, redirectUris: [callbackUrl(`http://127.0.0.1:${stormA}`)] }],
      accessTokenTtl: STORM_TOKEN_TTL_S,
      tokenEndpointDelayMs: options.tokenEndpointDelayMs,
    });
    cleanup.add('storm provider', () => stormProvider.close());
    const replicaOf = { provider: stormProvider, originPort: stormA };
    const stormGateways = await Promise.all([
      startGateway(fixture, options, 'storm gateway A', stormA, fixture.redis.url, cleanup, replicaOf),
      startGateway(fixture, options, 'storm gateway B', stormB, fixture.redis.url, cleanup, replicaOf),
    ]);
    const storm = await runStorm({
      gateways: stormGateways,
      provider: stormProvider,
      accessTokenTtlS: STORM_TOKEN_TTL_S,
      tokenEndpointDelayMs: options.tokenEndpointDelayMs,
      requests: options.stormRequests,
    });
    const trials = options.smoke ? 5 : 50;
    log(`near cache: logout on replica A, then at once a request on replica B (${trials} trials)`);
    const invalidation = await measureInvalidation(stormGateways[0]!, stormGateways[1]!, trials);
    await Promise.all(stormGateways.map((gateway) => gateway.stop()));

    rows.push(row('a', 'upstream, directly', a, bRps), row('b', 'bare http-proxy-3', b, bRps), row('u', 'bare undici Pool proxy', u, bRps));
    rows.push(row('c', 'Tokengate, Redis store', c.measured, bRps), row('d', 'Tokengate, memory store', d.measured, bRps), row('p', 'Tokengate, Redis store, DPoP', p.measured, bRps));
    if (m !== undefined) rows.push(row('m', APACHE_LABEL, m, bRps));
    const partial = {
      version: 1 as const,
      startedAt,
      finishedAt: new Date().toISOString(),
      machine: machineInfo(loadAtStart),
      settings: {
        durationS: options.durationS,
        warmupS: options.warmupS,
        connections: options.connections,
        stormRequests: options.stormRequests,
        smoke: options.smoke,
        gatewayLogLevel: options.gatewayLogLevel,
        gatewayBuild: options.source ? ('source' as const) : ('compiled' as const),
        gatewayNodeOptions: options.gatewayNodeOptions,
      },
      rows,
      skipped,
      fixedRate: fixedRateResult(bRps / 2, fixed),
      ...(fixedLow === undefined || lowRate === undefined ? {} : { fixedRateAtHalfOfC: fixedRateResult(lowRate, fixedLow) }),
      redis,
      gatewayPeakRssMb: Math.max(c.measured.rss?.peakMb ?? 0, d.measured.rss?.peakMb ?? 0),
      storm,
      invalidation,
    };

    if (options.profileDir !== undefined) {
      log(`profiling (c) under load with --cpu-prof into ${options.profileDir}`);
      const gateway = await startGateway(fixture, options, 'gateway (profiled)', fixture.ports.profile, fixture.redis.url, cleanup, undefined, {
        execArgv: ['--cpu-prof', '--cpu-prof-dir', options.profileDir],
        allocationProfile: join(options.profileDir, ALLOCATION_PROFILE),
      });
      await profileGateway(gateway, options, log);
    }
    return { ...partial, targets: checkTargets(partial) };
  } finally {
    const failures = await cleanup.run();
    for (const failure of failures) log(`cleanup: ${failure}`);
  }
}

async function startFixture(options: BenchOptions, cleanup: Cleanup, log: Log): Promise<Fixture> {
  let gatewayEntry = childEntry('gateway');
  if (!options.source) {
    log('compiling the gateway (tsc), as production runs it');
    const build = await buildGateway();
    cleanup.add('gateway build', () => build.remove());
    gatewayEntry = build.entry;
  }
  const upstream = await startChild('upstream', childEntry('upstream'));
  cleanup.add('upstream', () => upstream.stop());
  const redis = await startRedis();
  cleanup.add('redis', () => redis.stop());
  const [c, d, p, profile] = (await freePorts(4)) as [number, number, number, number];
  const client = { clientId: 'tokengate-bench', clientSecret: randomBytes(24).toString('base64url') };
  const provider = await startOpenIdProvider({
    clients: [{ ...client, redirectUris: [c, d, p, profile].map((port) => callbackUrl(`http://127.0.0.1:${port}`)) }],
  });
  cleanup.add('provider', () => provider.close());
  return { upstream, redis, provider, client, keys: generateGatewayKeys(), ports: { c, d, p, profile }, gatewayEntry };
}

/**
 * A gateway child. Storm replicas share the first replica's public origin (one deployment behind
 * one name) and the storm provider; the others are each their own origin.
 */
async function startGateway(
  fixture: Fixture,
  options: BenchOptions,
  name: string,
  port: number,
  redisUrl: string | undefined,
  cleanup: Cleanup,
  /** A replica of a deployment: that deployment's provider and public origin (the first replica's port). */
  replicaOf: { provider: OpenIdProviderHandle; originPort: number } | undefined = undefined,
  profiling: { execArgv: string[]; allocationProfile: string } | undefined = undefined,
  variant: { dpop?: boolean } = {},
): Promise<ChildHandle> {
  const provider = replicaOf?.provider ?? fixture.provider;
  const publicOrigin = `http://127.0.0.1:${replicaOf?.originPort ?? port}`;
  const config = gatewayConfig({
    port,
    publicOrigin,
    issuer: provider.issuer,
    client: fixture.client,
    upstream: fixture.upstream.url,
    keys: fixture.keys,
    logLevel: options.gatewayLogLevel,
    ...(redisUrl === undefined ? {} : { redisUrl }),
    ...(variant.dpop ? { dpop: true } : {}),
  });
  const init = profiling === undefined ? { config } : { config, allocationProfile: profiling.allocationProfile };
  const gateway = await startChild(name, fixture.gatewayEntry, { init, execArgv: [...options.gatewayNodeOptions, ...(profiling?.execArgv ?? [])] });
  cleanup.add(name, () => gateway.stop());
  return gateway;
}

interface GatewayRow {
  target: RowTarget;
  measured: MeasuredRow;
  redisDuringLoad: { before: RedisCounters; after: RedisCounters; requests: number } | undefined;
}

async function measureGatewayRow(gateway: ChildHandle, fixture: Fixture, options: BenchOptions, countRedis: boolean): Promise<GatewayRow> {
  const session = await loginForLoad(gateway.url);
  await assertProxied(gateway.url, session.cookie);
  const target: RowTarget = {
    url: `${gateway.url}${API_PATH}`,
    headers: apiHeaders(session.cookie),
    pid: gateway.pid,
    ...(countRedis ? { redisPid: fixture.redis.pid } : {}),
  };
  await warmUp(target, options);
  const upstreamBefore = await fixture.upstream.ask<{ withBearer: number }>('counts');
  const before = countRedis ? await fixture.redis.counters() : undefined;
  const measured = await measure(target, options);
  const after = countRedis ? await fixture.redis.counters() : undefined;
  const upstreamAfter = await fixture.upstream.ask<{ withBearer: number }>('counts');
  const served = measured.load.requests - measured.load.non2xx;
  if (upstreamAfter.withBearer - upstreamBefore.withBearer < served) {
    throw new Error(`${gateway.name}: the upstream saw fewer bearer tokens than the gateway served requests; the row did not do the gateway's work`);
  }
  return { target, measured, redisDuringLoad: before && after ? { before, after, requests: served } : undefined };
}

const APACHE_LABEL = 'Apache + mod_auth_openidc';

/** Row (m): Apache in front of the same upstream, logged in through the same provider, sessions in the same Redis. */
async function measureApacheRow(fixture: Fixture, options: BenchOptions, cleanup: Cleanup): Promise<MeasuredRow> {
  const redisPort = Number(new URL(fixture.redis.url).port);
  const [port] = (await freePorts(1)) as [number];
  const provider = await startOpenIdProvider({ clients: [{ ...fixture.client, redirectUris: [apacheRedirectUri(port)] }] });
  try {
    const apache = await startApache({ port, issuer: provider.issuer, client: fixture.client, upstream: fixture.upstream.url, redis: { host: '127.0.0.1', port: redisPort } });
    cleanup.add('apache', () => apache.stop());
    try {
      const cookie = await loginThroughApache(apache.url);
      const [, worker] = await apache.pids();
      const target: RowTarget = { url: `${apache.url}${API_PATH}`, headers: { cookie }, pid: worker ?? apache.pid, cpuPids: () => apache.pids(), redisPid: fixture.redis.pid };
      await warmUp(target, options);
      const upstreamBefore = await fixture.upstream.ask<{ withBearer: number }>('counts');
      const measured = await measure(target, options);
      const upstreamAfter = await fixture.upstream.ask<{ withBearer: number }>('counts');
      const served = measured.load.requests - measured.load.non2xx;
      if (upstreamAfter.withBearer - upstreamBefore.withBearer < served) {
        throw new Error(`apache: the upstream saw fewer bearer tokens than Apache served requests: ${(await apache.errorLog()).slice(-500)}`);
      }
      return measured;
    } finally {
      await apache.stop();
    }
  } finally {
    await provider.close();
  }
}

async function measureRow(target: RowTarget, options: BenchOptions): Promise<MeasuredRow> {
  await warmUp(target, options);
  return measure(target, options);
}

function fixedRateResult(rate: number, comparison: FixedRateComparison): FixedRateResult {
  const { baseline, subject } = comparison;
  return {
    rate,
    b: baseline.latency,
    c: subject.latency,
    addedP50Ms: subject.latency.p50 - baseline.latency.p50,
    requests: { b: baseline.requests, c: subject.requests },
    failures: { b: baseline.failures, c: subject.failures },
  };
}

function row(id: RowId, label: string, measured: MeasuredRow, bRps: number): RowResult {
  const { load, rss, cpuUsPerRequest, redisCpuUsPerRequest } = measured;
  return {
    id,
    label,
    rps: load.rps,
    requests: load.requests,
    non2xx: load.non2xx,
    errors: load.errors,
    latency: load.latency,
    ratioToB: load.rps / bRps,
    ...(rss === undefined ? {} : { peakRssMb: rss.peakMb }),
    ...(cpuUsPerRequest === undefined ? {} : { cpuUsPerRequest }),
    ...(redisCpuUsPerRequest === undefined ? {} : { redisCpuUsPerRequest }),
  };
}
