import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onFreePort } from './ports.ts';
import { waitFor } from './wait.ts';

/**
 * A real nginx (Debian's /usr/sbin/nginx) as a non-daemon child process: one process
 * (`master_process off`), every path it writes (pid, logs, temp dirs) in a fresh temp dir, one
 * server listening on a free 127.0.0.1 port. `.ci/run` installs nginx when it is missing.
 */

export const NGINX_PATH = '/usr/sbin/nginx';

export interface NginxOptions {
  /** Directives for the http block (upstream, map, ...). */
  http?: string;
  /** The inside of the one `server { }` block; `listen` is added. */
  server: string;
  /** Default: a free port. Give one when the config must name it before nginx starts (publicOrigin); the caller then retries on EADDRINUSE (ports.ts). */
  port?: number;
  executable?: string;
}

export interface NginxHandle {
  port: number;
  url: string;
  dir: string;
  /** nginx's error log so far (for assertion messages). */
  errorLog(): Promise<string>;
  stop(): Promise<void>;
}

/** nginx cannot bind port 0 and report it: without `options.port`, a free one, another if taken meanwhile. */
export async function startNginx(options: NginxOptions): Promise<NginxHandle> {
  return options.port === undefined ? onFreePort((port) => startNginxOn(port, options)) : startNginxOn(options.port, options);
}

async function startNginxOn(port: number, options: NginxOptions): Promise<NginxHandle> {
  const dir = await mkdtemp(join(tmpdir(), 'tokengate-nginx-'));
  const config = nginxConfig(dir, port, options);
  const configPath = join(dir, 'nginx.conf');
  await writeFile(configPath, config);

  const child = spawn(options.executable ?? NGINX_PATH, ['-p', `${dir}/`, '-e', join(dir, 'error.log'), '-c', configPath], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.once('error', () => undefined);

  const errorLog = async () => `${stderr}${await readFile(join(dir, 'error.log'), 'utf8').catch(() => '')}`;
  const stop = async () => {
    await stopChild(child, exited);
    await rm(dir, { recursive: true, force: true });
  };

  try {
    await waitForPort(port, exited, 10_000);
  } catch (err) {
    const log = await errorLog();
    await stop();
    throw new Error(`nginx did not start: ${(err as Error).message}\n${log}`);
  }
  return { port, url: `http://127.0.0.1:${port}`, dir, errorLog, stop };
}

export function nginxConfig(dir: string, port: number, options: NginxOptions): string {
  return `daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 256; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  default_type application/octet-stream;
${options.http ?? ''}
  server {
    listen 127.0.0.1:${port};
    server_name localhost;
${options.server}
  }
}
`;
}

async function waitForPort(port: number, exited: Promise<number | null>, timeoutMs: number): Promise<void> {
  let gone = false;
  void exited.then(() => (gone = true));
  await waitFor(`port ${port} open`, async () => gone || (await canConnect(port)), timeoutMs);
  if (gone) throw new Error('the process exited');
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function stopChild(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGQUIT');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
  await exited;
  clearTimeout(timer);
}
