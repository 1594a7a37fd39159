import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Logger } from 'pino';
import { loadConfig, type Config, type ProviderConfig } from '../config/index.ts';
import { Keyring } from '../crypto/keyring.ts';
import { ConfigError } from '../errors.ts';
import { CookieKeys } from '../session/cookie-keys.ts';

/**
 * Key rotation without a restart. On SIGHUP (serve.ts; a cluster primary passes it on to every
 * worker) and when a directory holding the config file or a secret file changes (fs.watch on the
 * directory, debounced: a Kubernetes Secret update creates a new `..<timestamp>` directory and
 * renames a temporary symlink over `..data`, several events for one change), the configuration
 * is loaded again exactly as at start (file, env overrides, `{ file }` and `<NAME>_FILE`
 * secrets, the schema) and its secrets go into the running gateway:
 *
 * - encryption and cookie keys: swapped into the Keyring and CookieKeys (one reference each;
 *   requests in flight are unaffected);
 * - a provider whose client secret or private key changed: built anew from its reloaded entry
 *   and swapped in by id (Gateway.replaceProvider);
 * - the forward-auth shared secret, when one was configured at start (live-config.ts).
 *
 * A configuration that fails validation changes nothing: the current keys stay and the problems
 * are logged by path and reason (never a value). Other settings are not applied; a provider
 * added or removed, or a forward-auth secret added or removed, is logged as needing a restart.
 * Reloads run one at a time.
 */

export interface KeyReloadSource {
  /** The config file `start` loaded. */
  file: string;
  env: NodeJS.ProcessEnv;
  /** Quiet time after the last file event before reloading. Default 300 ms. */
  debounceMs?: number;
}

/** What a key reload changes in a running gateway (the gateway implements it). */
export interface KeyReloadTarget {
  readonly config: Config;
  readonly keyring: Pick<Keyring, 'replace' | 'primaryKid' | 'kids'>;
  readonly cookieKeys: Pick<CookieKeys, 'replace'>;
  readonly logger: Logger;
  /** Replaces the forward-auth shared secret; false when none was configured at start. */
  setForwardAuthSecret(value: string): boolean;
  /** Swaps in a provider built anew from `provider`; false when it cannot be replaced. */
  replaceProvider(provider: ProviderConfig): Promise<boolean>;
}

export type KeyReloadResult = 'reloaded' | 'unchanged' | 'failed';

/** Fingerprints of what a reload may change (never the values themselves). */
interface Applied {
  keys: string;
  providers: Map<string, string>;
  forwardAuth: string | undefined;
}

export class KeyReload {
  readonly #source: KeyReloadSource;
  readonly #target: KeyReloadTarget;
  #applied: Applied;
  #queue: Promise<unknown> = Promise.resolve();
  #watchers = new Map<string, FSWatcher>();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(source: KeyReloadSource, target: KeyReloadTarget) {
    this.#source = source;
    this.#target = target;
    this.#applied = applied(target.config);
  }

  /** Loads the configuration again and applies the secrets that changed. Never rejects; one reload at a time. */
  reload(reason: string): Promise<KeyReloadResult> {
    const next = this.#queue.then(() => this.#reload(reason));
    this.#queue = next.catch(() => undefined);
    return next.catch((err: unknown) => {
      this.#target.logger.error({ event: 'key_reload_failed', reason, problems: [err instanceof Error ? err.name : 'error'] }, 'key reload failed: the current keys stay in use');
      return 'failed' as const;
    });
  }

  async #reload(reason: string): Promise<KeyReloadResult> {
    const { logger } = this.#target;
    const files = new Set<string>();
    let config: Config;
    try {
      config = loadConfig({ file: this.#source.file, env: this.#source.env, onSecretFile: (path) => files.add(path) });
      // Both key lists are checked before either is swapped: all or nothing.
      new Keyring(config.keys.encryption);
      new CookieKeys(config.keys.cookie);
    } catch (err) {
      // First lines only: a YAML syntax error goes on to quote the source line, which may hold a key.
      const problems = err instanceof ConfigError ? err.issues.map((issue) => `${issue.path || '(root)'}: ${issue.message.split('\n')[0]}`) : [err instanceof TypeError ? err.message : err instanceof Error ? err.name : 'error'];
      logger.error({ event: 'key_reload_failed', reason, problems }, 'key reload failed: the current keys stay in use');
      // Only what was read before the failure is known: keep watching everything else too.
      this.#watchDirs(files, false);
      return 'failed';
    }
    this.#watchDirs(files);
    const next = applied(config);
    const changed: string[] = [];
    const needRestart: string[] = [];

    if (next.keys !== this.#applied.keys) {
      this.#target.keyring.replace(config.keys.encryption);
      this.#target.cookieKeys.replace(config.keys.cookie);
      changed.push('keys');
    }
    for (const provider of config.providers) {
      const before = this.#applied.providers.get(provider.id);
      if (before === undefined) needRestart.push(`provider ${provider.id} added`);
      else if (before !== next.providers.get(provider.id)) {
        if (await this.#target.replaceProvider(provider)) changed.push(`provider ${provider.id} credentials`);
        else needRestart.push(`provider ${provider.id} credentials`);
      }
    }
    for (const id of this.#applied.providers.keys()) if (!next.providers.has(id)) needRestart.push(`provider ${id} removed`);
    if (next.forwardAuth !== this.#applied.forwardAuth) {
      if (config.forwardAuth.sharedSecret !== undefined && this.#target.setForwardAuthSecret(config.forwardAuth.sharedSecret)) changed.push('forward-auth secret');
      else needRestart.push('forward-auth secret added or removed');
    }
    // What could not be applied stays as it was, so it is reported again at the next reload.
    this.#applied = {
      keys: next.keys,
      providers: new Map([...this.#applied.providers].map(([id, print]) => [id, changed.includes(`provider ${id} credentials`) ? next.providers.get(id)! : print])),
      forwardAuth: changed.includes('forward-auth secret') ? next.forwardAuth : this.#applied.forwardAuth,
    };

    if (needRestart.length > 0) logger.warn({ event: 'secret_change_needs_restart', reason, needRestart }, 'key reload: some changes take effect only after a restart');
    if (changed.length === 0) {
      logger.info({ event: 'keys_unchanged', reason }, 'key reload: nothing to change');
      return 'unchanged';
    }
    logger.info(
      { event: 'keys_reloaded', reason, changed, sealingKid: this.#target.keyring.primaryKid, encryptionKids: this.#target.keyring.kids, cookieKeys: config.keys.cookie.length },
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

  #watchDirs(files: ReadonlySet<string>, prune = true): void {
    if (this.#closed) return;
    const dirs = new Set([this.#source.file, ...files].map((file) => dirname(resolve(file))));
    for (const [dir, watcher] of this.#watchers) {
      if (dirs.has(dir) || !prune) continue;
      watcher.close();
      this.#watchers.delete(dir);
    }
    for (const dir of dirs) {
      if (this.#watchers.has(dir)) continue;
      try {
        const watcher = watch(dir, { persistent: false }, () => this.#changed());
        watcher.on('error', (err) => this.#target.logger.warn({ event: 'secret_watch_failed', dir, code: (err as NodeJS.ErrnoException).code }, 'cannot watch a secret directory; SIGHUP still reloads'));
        this.#watchers.set(dir, watcher);
      } catch (err) {
        this.#target.logger.warn({ event: 'secret_watch_failed', dir, code: (err as NodeJS.ErrnoException).code }, 'cannot watch a secret directory; SIGHUP still reloads');
      }
    }
  }

  #changed(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.reload('file changed'), this.#source.debounceMs ?? 300);
    this.#timer.unref();
  }
}

function digest(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('base64url');
}

function applied(config: Config): Applied {
  return {
    keys: digest([config.keys.encryption.map((spec) => [spec.kid, spec.key]), config.keys.cookie]),
    providers: new Map(config.providers.map((provider) => [provider.id, digest([provider.clientSecret ?? null, 'privateKey' in provider ? (provider.privateKey ?? null) : null])])),
    forwardAuth: config.forwardAuth.sharedSecret === undefined ? undefined : digest(config.forwardAuth.sharedSecret),
  };
}
