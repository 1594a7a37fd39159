import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { DEPLOY_DIR, allManifests, find, podSpec, type Manifest } from './manifests.ts';

/**
 * Every Kubernetes object under deploy/ against the Kubernetes API schemas, offline, from npm:
 * `kubernetes-models` (the core API's OpenAPI schemas compiled to validators, per kind) and
 * `@kubernetes-models/traefik` (Traefik's CRDs). Those validators check types, required fields
 * and enums, but let unknown fields through, which the API server refuses (kubectl's strict
 * field validation); so the same objects are also type-checked by tsc against the packages'
 * interfaces as object literals, where an unknown or misspelt field is an error.
 */

const run = promisify(execFile);
const ROOT = new URL('../../', import.meta.url).pathname;

/** apiVersion → the module holding its kinds. Kustomization is kustomize's input, not an API object. */
const MODULES: Record<string, string> = {
  v1: 'kubernetes-models/v1',
  'apps/v1': 'kubernetes-models/apps/v1',
  'networking.k8s.io/v1': 'kubernetes-models/networking.k8s.io/v1',
  'traefik.io/v1alpha1': '@kubernetes-models/traefik/traefik.io/v1alpha1',
};

const manifests = allManifests().filter((manifest) => manifest.kind !== undefined);
const objects = manifests.filter((manifest) => manifest.kind !== 'Kustomization');
const work = mkdtempSync(join(tmpdir(), 'tokengate-k8s-schema-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function objectOf(manifest: Manifest): Record<string, unknown> {
  const { file: _file, ...object } = manifest;
  return object;
}

interface ModelClass {
  new (data: unknown): { validate(): void };
}

describe('every Kubernetes object under deploy/ is valid against the API schemas', () => {
  it('there are objects of every kind the layouts use, and a schema module for each apiVersion', () => {
    expect(new Set(objects.map((m) => m.kind))).toEqual(new Set(['ConfigMap', 'Deployment', 'Ingress', 'IngressRoute', 'Middleware', 'Namespace', 'NetworkPolicy', 'Secret', 'Service']));
    for (const manifest of objects) expect(MODULES[manifest['apiVersion'] as string], `${manifest.file}: ${manifest['apiVersion']}`).toBeDefined();
  });

  it.each(objects.map((m) => [`${m.file}: ${m.kind} ${m.metadata?.name}`, m]))('%s', async (_name, manifest) => {
    const module = (await import(MODULES[manifest['apiVersion'] as string]!)) as Record<string, ModelClass>;
    const Model = module[manifest.kind!];
    expect(Model, `no model for ${manifest.kind}`).toBeDefined();
    expect(() => new Model!(objectOf(manifest)).validate()).not.toThrow();
  });

  it('the validators do refuse a wrong object (a probe port of the wrong type, a missing container image)', async () => {
    const { Deployment } = (await import('kubernetes-models/apps/v1')) as Record<string, ModelClass>;
    const base = objectOf(find(manifests, 'Deployment', 'tokengate-sidecar'));
    const broken = structuredClone(base) as { spec: { template: { spec: { containers: Array<Record<string, unknown>> } } } };
    broken.spec.template.spec.containers[1]!['ports'] = [{ name: 'http', containerPort: '8080' }];
    expect(() => new Deployment!(broken).validate()).toThrow();
  });

  it('no object has a field the API does not know (tsc against the models\' interfaces)', async () => {
    symlinkSync(join(ROOT, 'node_modules'), join(work, 'node_modules'), 'dir');
    const imports = new Map<string, Set<string>>();
    const lines = objects.map((manifest, index) => {
      const module = MODULES[manifest['apiVersion'] as string]!;
      const kinds = imports.get(module) ?? new Set<string>();
      kinds.add(manifest.kind!);
      imports.set(module, kinds);
      return `// ${manifest.file}: ${manifest.kind} ${manifest.metadata?.name}\nexport const object${index}: I${manifest.kind} = ${JSON.stringify(objectOf(manifest), null, 2)};`;
    });
    const header = [...imports].map(([module, kinds]) => `import type { ${[...kinds].map((kind) => `I${kind}`).join(', ')} } from '${module}';`);
    // Unknown fields only: a misspelt one must fail this check too.
    const typo = `import type { IDeployment as ITypo } from 'kubernetes-models/apps/v1';\nexport const typo: ITypo = { apiVersion: 'apps/v1', kind: 'Deployment', spec: { selector: {}, template: { spec: { containers: [{ name: 'a', image: 'b', imagePullPolice: 'Always' }] } } } };\n`;
    writeFileSync(join(work, 'objects.ts'), `${header.join('\n')}\n\n${lines.join('\n\n')}\n`);
    writeFileSync(join(work, 'typo.ts'), typo);
    const compilerOptions = { target: 'es2024', module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true, skipLibCheck: true, types: [] };
    writeFileSync(join(work, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['objects.ts'] }));
    writeFileSync(join(work, 'tsconfig.typo.json'), JSON.stringify({ compilerOptions, files: ['typo.ts'] }));
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const errors = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: work }).then(
      () => '',
      (err: { stdout: string }) => err.stdout,
    );
    expect(errors).toBe('');
    const typoErrors = await run(process.execPath, [tsc, '-p', 'tsconfig.typo.json'], { cwd: work }).then(
      () => '',
      (err: { stdout: string }) => err.stdout,
    );
    expect(typoErrors).toMatch(/imagePullPolice/);
  }, 60_000);

  it('no two objects share a kind, namespace and name', () => {
    const keys = objects.filter((m) => m.file.startsWith('kubernetes/')).map((m) => `${m.kind}/${m.metadata?.namespace}/${m.metadata?.name}`);
    expect(keys.filter((key, index) => keys.indexOf(key) !== index)).toEqual([]);
  });

  it('every Kustomization lists files that exist, and every object file is in one', () => {
    const listed = new Set<string>();
    for (const kustomization of manifests.filter((m) => m.kind === 'Kustomization')) {
      const dir = join(DEPLOY_DIR, dirname(kustomization.file));
      for (const resource of kustomization['resources'] as string[]) {
        const path = join(dir, resource);
        expect(existsSync(path), `${kustomization.file}: ${resource}`).toBe(true);
        if (statSync(path).isFile()) listed.add(path);
      }
    }
    const files = new Set(objects.filter((m) => m.file.startsWith('kubernetes/')).map((m) => join(DEPLOY_DIR, m.file)));
    expect([...files].filter((file) => !listed.has(file))).toEqual([]);
  });
});

describe('the sidecar Pod can become Ready', () => {
  const deployment = find(manifests, 'Deployment', 'tokengate-sidecar');
  const spa = podSpec(deployment).containers.find((c) => c.name === 'spa')! as ReturnType<typeof podSpec>['containers'][number] & { readinessProbe?: { httpGet?: { port: string | number }; tcpSocket?: unknown } };
  const configMap = find(manifests, 'ConfigMap', 'tokengate-sidecar') as Manifest & { data: Record<string, string> };

  it('the SPA\'s readiness probe asks a port its server listens on beyond loopback (the kubelet probes the Pod IP)', () => {
    const port = spa.readinessProbe?.httpGet?.port;
    const number = typeof port === 'number' ? port : spa.ports?.find((p) => p.name === port)?.containerPort;
    expect(number).toBe(3000);
    const listens = [...configMap.data['spa.conf']!.matchAll(/^\s*listen\s+([^;]+);/gm)].map((match) => match[1]!.trim());
    expect(listens).toContain(String(number));
    expect(listens.every((address) => !address.startsWith('127.'))).toBe(true);
  });

  it('a NetworkPolicy admits other Pods to Tokengate\'s ports only, not to the SPA\'s', () => {
    const policy = find(manifests, 'NetworkPolicy', 'tokengate-sidecar') as Manifest & { spec: { podSelector: { matchLabels: Record<string, string> }; ingress: Array<{ ports: Array<{ port: number }> }> } };
    const labels = (deployment as unknown as { spec: { template: { metadata: { labels: Record<string, string> } } } }).spec.template.metadata.labels;
    for (const [key, value] of Object.entries(policy.spec.podSelector.matchLabels)) expect(labels[key]).toBe(value);
    expect(policy.spec.ingress.flatMap((rule) => rule.ports.map((p) => p.port)).sort()).toEqual([8080, 9464]);
  });
});

describe('Secret files are readable by the non-root gateway', () => {
  const deployments = manifests.filter((m) => m.kind === 'Deployment' && podSpec(m).containers.some((c) => c.name === 'tokengate'));

  it.each(deployments.map((d) => [d.metadata!.name!, d]))('%s: fsGroup is the container\'s group and the mode lets the group read', (_name, deployment) => {
    const pod = podSpec(deployment) as unknown as {
      securityContext?: { fsGroup?: number };
      containers: Array<{ name: string; securityContext?: { runAsUser?: number; runAsGroup?: number } }>;
      volumes?: Array<{ secret?: { defaultMode?: number } }>;
    };
    const container = pod.containers.find((c) => c.name === 'tokengate')!;
    const mode = pod.volumes!.find((volume) => volume.secret !== undefined)!.secret!.defaultMode!;
    expect(pod.securityContext?.fsGroup).toBe(container.securityContext?.runAsGroup);
    // The kubelet makes the files root-owned, group fsGroup: only the group bits reach user 1000.
    expect(container.securityContext?.runAsUser).not.toBe(0);
    expect(mode & 0o040).toBe(0o040);
    expect(mode & 0o007).toBe(0);
  });
});

describe('the Docker build context', () => {
  const rules = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));

  /** .dockerignore's rules as this file uses them: top-level names, `*`, `!` re-includes; the last match wins. */
  function inContext(name: string): boolean {
    let included = true;
    for (const rule of rules) {
      const negated = rule.startsWith('!');
      const pattern = (negated ? rule.slice(1) : rule).replace(/\/$/, '');
      if (pattern === '*' || pattern === name) included = negated;
    }
    return included;
  }

  it('uses only the rules checked here', () => {
    for (const rule of rules) expect(rule).toMatch(/^(\*|!?[A-Za-z0-9._-]+\/?)$/);
  });

  it('holds what the Dockerfile copies and leaves out node_modules, .tools, dist, tests and git', () => {
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    const sources = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((match) => match[1]!.split(/\s+/));
    expect([...new Set(sources)].sort()).toEqual(['config', 'package-lock.json', 'package.json', 'src', 'tsconfig.json']);
    for (const source of sources) expect(inContext(source), source).toBe(true);
    for (const left of ['node_modules', '.tools', 'dist', 'test', '.git', 'test-artifacts', 'bench', '.env']) expect(inContext(left), left).toBe(false);
  });
});
