import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';

/** Reading deploy/: every YAML document of every file, and lookups by kind and name. */

export const DEPLOY_DIR = new URL('../../deploy/', import.meta.url).pathname;

export interface Manifest {
  file: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; annotations?: Record<string, string> };
  [key: string]: unknown;
}

export function yamlFiles(dir = DEPLOY_DIR): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => /\.ya?ml$/.test(name))
    .map((name) => join(dir, name))
    .sort();
}

/** Parses a file's documents; throws with the file name on the first YAML error. */
export function documentsOf(path: string): Manifest[] {
  const docs = parseAllDocuments(readFileSync(path, 'utf8'), { prettyErrors: true });
  const list = Array.isArray(docs) ? docs : [docs];
  const manifests: Manifest[] = [];
  for (const doc of list) {
    if (doc.errors.length > 0) throw new Error(`${relative(DEPLOY_DIR, path)}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value = doc.toJS() as Record<string, unknown> | null;
    if (value !== null) manifests.push({ ...value, file: relative(DEPLOY_DIR, path) });
  }
  return manifests;
}

export function allManifests(): Manifest[] {
  return yamlFiles().flatMap(documentsOf);
}

export function find(manifests: Manifest[], kind: string, name: string): Manifest {
  const found = manifests.find((m) => m.kind === kind && m.metadata?.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in deploy/`);
  return found;
}

/* A few typed views of what the tests read. */
export interface ContainerSpec {
  name: string;
  image: string;
  args?: string[];
  env?: { name: string; value?: string }[];
  ports?: { name?: string; containerPort: number }[];
  securityContext?: { runAsUser?: number; runAsNonRoot?: boolean; allowPrivilegeEscalation?: boolean; readOnlyRootFilesystem?: boolean };
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  volumeMounts?: { name: string; mountPath: string }[];
  lifecycle?: { preStop?: { sleep?: { seconds: number }; exec?: { command: string[] } } };
}

export interface Probe {
  httpGet?: { path: string; port: number | string };
}

export interface PodSpec {
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
  terminationGracePeriodSeconds?: number;
  containers: ContainerSpec[];
  volumes?: { name: string; configMap?: { name: string }; secret?: { secretName: string } }[];
}

export function podSpec(deployment: Manifest): PodSpec {
  return (deployment as unknown as { spec: { template: { spec: PodSpec } } }).spec.template.spec;
}

/** A probe's port as a number, resolving a named port. */
export function probePort(container: ContainerSpec, probe: Probe | undefined): number | undefined {
  const port = probe?.httpGet?.port;
  if (typeof port === 'number') return port;
  return container.ports?.find((p) => p.name === port)?.containerPort;
}
