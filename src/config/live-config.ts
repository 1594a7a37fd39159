import { hideSecrets } from '../secret.ts';
import { type Config, FORWARD_AUTH_PRINTABLE } from './schema.ts';

/**
 * The configuration as a running gateway reads it: the validated, frozen values, except
 * `forwardAuth.sharedSecret`, which is read through an accessor so that a key reload
 * (src/runtime/key-reload.ts) can replace it while requests run. Code that holds
 * `config.forwardAuth` reads the current secret on every request and needs no change.
 * A reload replaces a secret only where one was configured at start: whether the secret
 * exists decides which listener serves forward-auth, which only a restart changes.
 */
export interface LiveConfig {
  readonly config: Config;
  /** Replaces the forward-auth shared secret; false (nothing changed) when none was configured at start. */
  setForwardAuthSecret(value: string): boolean;
}

export function liveConfig(config: Config): LiveConfig {
  let sharedSecret = config.forwardAuth.sharedSecret;
  const forwardAuth = Object.freeze(
    hideSecrets(
      {
        ...config.forwardAuth,
        get sharedSecret() {
          return sharedSecret;
        },
      },
      FORWARD_AUTH_PRINTABLE,
    ),
  ) as Config['forwardAuth'];
  return {
    config: Object.freeze({ ...config, forwardAuth }),
    setForwardAuthSecret(value) {
      if (sharedSecret === undefined) return false;
      sharedSecret = value;
      return true;
    },
  };
}
