import type { Store } from '../store/types.ts';
import type { Metrics, StoreOp } from './metrics.ts';

/**
 * The same Store, timed: every call observes `tokengate_store_duration_seconds{op}` and every
 * rejection counts `tokengate_store_errors_total{op}` (and is rethrown unchanged). `close` is
 * passed through untimed.
 */
export function instrumentStore(store: Store, metrics: Pick<Metrics, 'storeDuration' | 'storeErrors'>): Store {
  function timed<A extends unknown[], R>(op: StoreOp, call: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
    // Bound once per op: no label object hashed per call.
    const duration = metrics.storeDuration.labels({ op });
    const errors = metrics.storeErrors.labels({ op });
    return async (...args: A): Promise<R> => {
      const started = performance.now();
      try {
        return await call(...args);
      } catch (err) {
        errors.inc();
        throw err;
      } finally {
        duration.observe((performance.now() - started) / 1000);
      }
    };
  }

  return {
    kind: store.kind,
    createSession: timed('createSession', (...args) => store.createSession(...args)),
    loadSession: timed('loadSession', (...args) => store.loadSession(...args)),
    getSession: timed('getSession', (...args) => store.getSession(...args)),
    destroySession: timed('destroySession', (...args) => store.destroySession(...args)),
    getTokens: timed('getTokens', (...args) => store.getTokens(...args)),
    compareAndSetTokens: timed('compareAndSetTokens', (...args) => store.compareAndSetTokens(...args)),
    deleteTokens: timed('deleteTokens', (...args) => store.deleteTokens(...args)),
    acquireLock: timed('acquireLock', (...args) => store.acquireLock(...args)),
    renewLock: timed('renewLock', (...args) => store.renewLock(...args)),
    releaseLock: timed('releaseLock', (...args) => store.releaseLock(...args)),
    listUserSessions: timed('listUserSessions', (...args) => store.listUserSessions(...args)),
    describeUserSessions: timed('describeUserSessions', (...args) => store.describeUserSessions(...args)),
    destroyUserSessions: timed('destroyUserSessions', (...args) => store.destroyUserSessions(...args)),
    findByProviderSid: timed('findByProviderSid', (...args) => store.findByProviderSid(...args)),
    putEphemeral: timed('putEphemeral', (...args) => store.putEphemeral(...args)),
    takeEphemeral: timed('takeEphemeral', (...args) => store.takeEphemeral(...args)),
    admitPendingLogin: timed('admitPendingLogin', (...args) => store.admitPendingLogin(...args)),
    releasePendingLogin: timed('releasePendingLogin', (...args) => store.releasePendingLogin(...args)),
    markOnce: timed('markOnce', (...args) => store.markOnce(...args)),
    isMarked: timed('isMarked', (...args) => store.isMarked(...args)),
    ping: timed('ping', (...args) => store.ping(...args)),
    close: () => store.close(),
  };
}
