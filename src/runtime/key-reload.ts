import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Logger } from 'pino';
import { loadConfig, type Config } from '../config/index.ts';
import { Keyring } from '../crypto/keyring.ts';
import { ConfigError } from '../errors.ts';
import { CookieKeys } from '../session/cookie-keys.ts';

/**
 * Key rotation without a restart. On SIGHUP (serve.ts; a cluster primary passes it on to every
 * worker) and when a directory holding the config file or a secret file changes (fs.watch on the
 * directory, debounced: a Kubernetes Secret update creates a new `..<timestamp>` directory and
 * renames a temporary symlink over `..data`, several events for one change), the configuration
 * is loaded again exactly as at start (file, env overrides, `{ file }` and `<NAME>_FILE`
 * secrets, the schema) and the encryption and cookie keys are swapped into the running
 * gateway's Keyring and CookieKeys (each one reference swap; requests in flight are unaffected).
 *
 * A configuration that fails validation changes nothing: the current keys stay and the problems
 * are logged by path and reason (never a value). Other settings are not applied by a reload;
 * a changed client secret or forward-auth secret is logged as needing a restart.
 */

export interface KeyReloadSource {
  /** The config file `start` loaded. */
  file: string;
  env: NodeJS.ProcessEnv;
  /** Quiet time after the last file event before reloading. Default 300 ms. */
  debounceMs?: number;
}

export interface KeyReloadTargets {
  config: Config;
  keyring: Keyring;
  cookieKeys: CookieKeys;
  logger: Logger;
}

export type KeyReloadResult = 'reloaded' | 'unchanged' | 'failed';

export class KeyReload {
  readonly #source: KeyReloadSource;
  readonly #targets: KeyReloadTargets;
  #fingerprint: string;
  #restartOnly: string;
  #watchers = new Map<string, FSWatcher>();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(source: KeyReloadSource, targets: KeyReloadTargets) {
    this.#source = source;
    this.#targets = targets;
    this.#fingerprint = keysFingerprint(targets.config);
    this.#restartOnly = restartOnlyFingerprint(targets.config);
  }

  /** Loads the configuration again and swaps the keys in when they changed. Never throws. */
  reload(reason: string): KeyReloadResult {
    const { logger } = this.#targets;
    const files = new Set<string>();
    let config: Config;
    try {
      config = loadConfig({ file: this.#source.file, env: this.#source.env, onSecretFile: (path) => files.add(path) });
    } catch (err) {
      const problems = err instanceof ConfigError ? err.issues.map((issue) => `${issue.path || '(root)'}: ${issue.message}`) : [err instanceof Error ? err.name : 'error'];
      logger.error({ event: 'key_reload_failed', reason, problems }, 'key reload failed: the current keys stay in use');
      this.#watchDirs(files);
      return 'failed';
    }
    this.#watchDirs(files);
    const fingerprint = keysFingerprint(config);
    const restartOnly = restartOnlyFingerprint(config);
    if (restartOnly !== this.#restartOnly) {
      this.#restartOnly = restartOnly;
      logger.warn({ event: 'secret_changed_needs_restart', reason }, 'a client secret or the forward-auth secret changed: it takes effect at the next restart');
    }
    if (fingerprint === this.#fingerprint) {
      logger.info({ event: 'keys_unchanged', reason }, 'key reload: the keys are unchanged');
      return 'unchanged';
    }
    // Both lists are checked before either is swapped: all or nothing.
    try {
      new Keyring(config.keys.encryption);
      new CookieKeys(config.keys.cookie);
    } catch (err) {
      logger.error({ event: 'key_reload_failed', reason, problems: [err instanceof Error ? err.message : 'error'] }, 'key reload failed: the current keys stay in use');
      return 'failed';
    }
    this.#targets.keyring.replace(config.keys.encryption);
    this.#targets.cookieKeys.replace(config.keys.cookie);
    this.#fingerprint = fingerprint;
    logger.info(
      { event: 'keys_reloaded', reason, sealingKid: this.#targets.keyring.primaryKid, encryptionKids: this.#targets.keyring.kids, cookieKeys: config.keys.cookie.length },
      'keys reloaded',
    );
    return 'reloaded';
  }

  /** Watches the directories of the config file and of every secret file it names. */
  watch(): void {
    const files = new Set<string>();
    try {
      loadConfig({ file: this.#source.file, env: this.#source.env, onSecretFile: (path) => files.add(path) });
    } catch {
      // The running config was valid; the files it names are still worth watching.
    }
    this.#watchDirs(files);
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    for (const watcher of this.#watchers.values()) watcher.close();
    this.#watchers.clear();
  }

  #watchDirs(files: ReadonlySet<string>): void {
    if (this.#closed) return;
    const dirs = new Set([this.#source.file, ...files].map((file) => dirname(resolve(file))));
    for (const [dir, watcher] of this.#watchers) {
      if (dirs.has(dir)) continue;
      watcher.close();
      this.#watchers.delete(dir);
    }
    for (const dir of dirs) {
      if (this.#watchers.has(dir)) continue;
      try {
        const watcher = watch(dir, { persistent: false }, () => this.#changed());
        watcher.on('error', (err) => this.#targets.logger.warn({ event: 'secret_watch_failed', dir, code: (err as NodeJS.ErrnoException).code }, 'cannot watch a secret directory; SIGHUP still reloads'));
        this.#watchers.set(dir, watcher);
      } catch (err) {
        this.#targets.logger.warn({ event: 'secret_watch_failed', dir, code: (err as NodeJS.ErrnoException).code }, 'cannot watch a secret directory; SIGHUP still reloads');
      }
    }
  }

  #changed(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.reload('file changed'), this.#source.debounceMs ?? 300);
    this.#timer.unref();
  }
}

function digest(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('base64url');
}

function keysFingerprint(config: Config): string {
  return digest([config.keys.encryption.map((spec) => [spec.kid, spec.key]), config.keys.cookie]);
}

function restartOnlyFingerprint(config: Config): string {
  return digest([config.providers.map((provider) => [provider.id, provider.clientSecret ?? null]), config.forwardAuth.sharedSecret ?? null]);
}
