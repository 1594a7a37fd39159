import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { generateKey } from '../../src/crypto/keyring.ts';
import { ConfigError } from '../../src/errors.ts';
import { DEPLOY_DIR, allManifests, find, podSpec, probePort, yamlFiles, documentsOf, type Manifest } from './manifests.ts';

const manifests = allManifests();
const deployments = manifests.filter((m) => m.kind === 'Deployment');
const tokengateDeployments = deployments.filter((d) => podSpec(d).containers.some((c) => c.name === 'tokengate'));

/** The Secret's keys as files, the way the kubelet mounts them. */
const secretDir = mkdtempSync(join(tmpdir(), 'tokengate-k8s-secret-'));
afterAll(() => rmSync(secretDir, { recursive: true, force: true }));

function gatewayConfigOf(deployment: Manifest) {
  const volume = podSpec(deployment).volumes?.find((v) => v.name === 'config');
  const configMap = find(manifests, 'ConfigMap', volume!.configMap!.name) as Manifest & { data: Record<string, string> };
  return configMap.data['gateway.yaml']!;
}

/** The container's env, with the Secret mount pointed at `dir`. */
function envOf(deployment: Manifest, dir: string): NodeJS.ProcessEnv {
  const container = podSpec(deployment).containers.find((c) => c.name === 'tokengate')!;
  const env: NodeJS.ProcessEnv = {};
  for (const entry of container.env ?? []) env[entry.name] = entry.value?.replace('/var/run/secrets/tokengate', dir);
  return env;
}

describe('every file under deploy/ is valid YAML', () => {
  it.each(yamlFiles().map((path) => [relative(DEPLOY_DIR, path), path]))('%s parses, every document', (_file, path) => {
    const docs = documentsOf(path);
    expect(docs.length).toBeGreaterThan(0);
  });

  it('holds both Kubernetes layouts, Redis, the keys Secret and the config maps', () => {
    expect(tokengateDeployments.map((d) => d.metadata?.name).sort()).toEqual(['tokengate-forward-auth', 'tokengate-sidecar']);
    expect(find(manifests, 'Deployment', 'redis')).toBeDefined();
    expect(find(manifests, 'Secret', 'tokengate-keys')).toBeDefined();
    expect(find(manifests, 'ConfigMap', 'tokengate-sidecar')).toBeDefined();
    expect(find(manifests, 'ConfigMap', 'tokengate-forward-auth')).toBeDefined();
  });
});

describe('pods run as non-root users', () => {
  it.each(deployments.map((d) => [d.metadata!.name!, d]))('%s', (_name, deployment) => {
    const pod = podSpec(deployment);
    expect(pod.securityContext?.runAsNonRoot).toBe(true);
    for (const container of pod.containers) {
      const user = container.securityContext?.runAsUser ?? pod.securityContext?.runAsUser;
      expect(user, `${container.name} runAsUser`).toBeGreaterThan(0);
      expect(container.securityContext?.allowPrivilegeEscalation, container.name).toBe(false);
      expect(container.securityContext?.readOnlyRootFilesystem, container.name).toBe(true);
    }
  });
});

describe('Tokengate containers are probed on the ops listener', () => {
  it.each(tokengateDeployments.map((d) => [d.metadata!.name!, d]))('%s: /healthz for liveness, /readyz for readiness, port = ops.port', (_name, deployment) => {
    const container = podSpec(deployment).containers.find((c) => c.name === 'tokengate')!;
    expect(container.livenessProbe?.httpGet?.path).toBe('/healthz');
    expect(container.readinessProbe?.httpGet?.path).toBe('/readyz');
    expect(probePort(container, container.livenessProbe)).toBe(9464);
    expect(probePort(container, container.readinessProbe)).toBe(9464);
    expect(container.args).toEqual(['start', '--config', '/etc/tokengate/gateway.yaml']);
    expect(gatewayConfigOf(deployment)).toMatch(/ops: \{ host: 0\.0\.0\.0, port: 9464 \}/);
  });
});

describe('the ConfigMaps hold configurations Tokengate accepts', () => {
  it.each(tokengateDeployments.map((d) => [d.metadata!.name!, d]))('%s loads with the Secret mounted as files', (_name, deployment) => {
    const dir = mkdtempSync(join(secretDir, 'ok-'));
    writeFileSync(join(dir, 'encryption-keys'), `k1:${generateKey()}\n`);
    writeFileSync(join(dir, 'cookie-keys'), `${generateKey()}\n`);
    writeFileSync(join(dir, 'client-secret'), 'from-the-secret\n');
    const config = loadConfig({ text: gatewayConfigOf(deployment), env: envOf(deployment, dir) });
    expect(config.store.type).toBe('redis');
    expect(config.providers[0]!.clientSecret).toBe('from-the-secret');
    expect(config.ops.port).toBe(9464);
    // One process per pod under a 256 MiB limit: scaling is the Deployment's replicas.
    expect(config.workers).toBe(1);
    const container = podSpec(deployment).containers.find((c) => c.name === 'tokengate')!;
    expect(container.env).toEqual(expect.arrayContaining([{ name: 'NODE_OPTIONS', value: '--max-semi-space-size=8' }]));
  });

  it('refuses to boot with the Secret manifest\'s placeholders', () => {
    const secret = find(manifests, 'Secret', 'tokengate-keys') as Manifest & { stringData: Record<string, string> };
    const deployment = tokengateDeployments[0]!;
    const dir = mkdtempSync(join(secretDir, 'placeholder-'));
    for (const [key, value] of Object.entries(secret.stringData)) writeFileSync(join(dir, key), value);
    let error: unknown;
    try {
      loadConfig({ text: gatewayConfigOf(deployment), env: envOf(deployment, dir) });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const paths = (error as ConfigError).issues.map((issue) => issue.path);
    expect(paths).toContain('keys.encryption.0.key');
    expect(paths).toContain('keys.cookie.0');
  });
});

describe('Tokengate pods drain before they stop', () => {
  it.each(tokengateDeployments.map((d) => [d.metadata!.name!, d]))('%s: a preStop sleep, then SIGTERM; the termination grace period covers the sleep and shutdown.grace', (_name, deployment) => {
    const dir = mkdtempSync(join(secretDir, 'drain-'));
    writeFileSync(join(dir, 'encryption-keys'), `k1:${generateKey()}`);
    writeFileSync(join(dir, 'cookie-keys'), generateKey());
    writeFileSync(join(dir, 'client-secret'), 'x');
    const config = loadConfig({ text: gatewayConfigOf(deployment), env: envOf(deployment, dir) });
    const pod = podSpec(deployment);
    const sleep = pod.containers.find((c) => c.name === 'tokengate')!.lifecycle?.preStop?.sleep?.seconds;
    expect(sleep).toBeGreaterThanOrEqual(3);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(sleep! + config.shutdown.grace / 1000);
  });
});

describe('forward-auth with ingress-nginx', () => {
  const deployment = find(manifests, 'Deployment', 'tokengate-forward-auth');
  const env = () => {
    const dir = mkdtempSync(join(secretDir, 'fa-'));
    writeFileSync(join(dir, 'encryption-keys'), `k1:${generateKey()}`);
    writeFileSync(join(dir, 'cookie-keys'), generateKey());
    writeFileSync(join(dir, 'client-secret'), 'x');
    return envOf(deployment, dir);
  };

  it('points auth-url at the verify Service, which targets the forward-auth listener', () => {
    const config = loadConfig({ text: gatewayConfigOf(deployment), env: env() });
    expect(config.forwardAuth.enabled).toBe(true);
    const verify = find(manifests, 'Service', 'tokengate-verify') as Manifest & { spec: { ports: { port: number; targetPort: string }[] } };
    const container = podSpec(deployment).containers[0]!;
    const target = container.ports!.find((p) => p.name === verify.spec.ports[0]!.targetPort)!.containerPort;
    expect(target).toBe(config.forwardAuth.listen!.port);
    for (const name of ['app-pages', 'app-api']) {
      const annotations = find(manifests, 'Ingress', name).metadata!.annotations!;
      const url = new URL(annotations['nginx.ingress.kubernetes.io/auth-url']!);
      expect(url.hostname).toBe('tokengate-verify.tokengate.svc.cluster.local');
      expect(Number(url.port)).toBe(verify.spec.ports[0]!.port);
      expect(url.pathname).toBe(config.forwardAuth.path);
      const headers = annotations['nginx.ingress.kubernetes.io/auth-response-headers']!.split(',').map((h) => h.trim());
      expect(headers).toEqual(['Authorization', 'X-Auth-Request-User', 'X-Auth-Request-Email']);
    }
  });

  it('sends page navigations to login and lets API calls get 401', () => {
    const pages = find(manifests, 'Ingress', 'app-pages').metadata!.annotations!;
    const api = find(manifests, 'Ingress', 'app-api').metadata!.annotations!;
    expect(pages['nginx.ingress.kubernetes.io/auth-signin']).toBe('https://$host/auth/login?returnTo=$escaped_request_uri');
    expect(api['nginx.ingress.kubernetes.io/auth-signin']).toBeUndefined();
  });

  it('no Ingress routes to the verify port', () => {
    const backends = JSON.stringify(manifests.filter((m) => m.kind === 'Ingress'));
    expect(backends).not.toContain('"name":"tokengate-verify"');
  });
});

describe('Traefik ForwardAuth', () => {
  it.each([['traefik/dynamic.yaml'], ['traefik/kubernetes.yaml']])('%s forwards the three response headers', (file) => {
    const text = JSON.stringify(manifests.filter((m) => m.file === file));
    expect(text).toMatch(/"authResponseHeaders":\["Authorization","X-Auth-Request-User","X-Auth-Request-Email"\]/);
    expect(text).toMatch(/\/auth\/verify"/);
    expect(text).toContain('"Cookie":""');
  });
});
