import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NGINX_PATH } from '../support/nginx.ts';
import { DEPLOY_DIR } from './manifests.ts';

/**
 * deploy/nginx/nginx.conf is a complete site; Debian's nginx must accept it as written, with
 * only the certificate paths pointed at a throwaway self-signed pair. (The behaviour of its two
 * included files is exercised against a running nginx in test/forward-auth/nginx.test.ts.)
 */

const dir = mkdtempSync(join(tmpdir(), 'tokengate-nginx-example-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the plain nginx example', () => {
  it('passes nginx -t', () => {
    for (const file of ['tokengate-server.conf', 'tokengate-protect.conf']) copyFileSync(join(DEPLOY_DIR, 'nginx', file), join(dir, file));
    copyFileSync('/etc/nginx/mime.types', join(dir, 'mime.types'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=app.example.com',
      '-keyout', join(dir, 'tls.key'), '-out', join(dir, 'tls.crt')], { stdio: 'ignore' });
    const example = readFileSync(join(DEPLOY_DIR, 'nginx', 'nginx.conf'), 'utf8');
    const config = example
      .replace('/etc/nginx/tls/app.example.com.crt', join(dir, 'tls.crt'))
      .replace('/etc/nginx/tls/app.example.com.key', join(dir, 'tls.key'));
    expect(config).not.toBe(example);
    writeFileSync(join(dir, 'nginx.conf'), config);

    const result = spawnSync(NGINX_PATH, ['-t', '-p', `${dir}/`, '-e', join(dir, 'error.log'), '-c', join(dir, 'nginx.conf'), '-g', `pid ${dir}/nginx.pid;`], {
      encoding: 'utf8',
    });
    expect(result.stderr).toContain('syntax is ok');
    expect(result.stderr).toContain('test is successful');
    expect(result.status).toBe(0);
  });
});
