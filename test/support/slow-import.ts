import { registerHooks } from 'node:module';

/**
 * A preload (`node --import`) that makes one module slow to load, to catch what a process does
 * with a signal while it is still loading: when the URL of a module being loaded ends with
 * TOKENGATE_TEST_SLOW_IMPORT, it prints `loading <that>` on stderr and blocks for
 * TOKENGATE_TEST_SLOW_IMPORT_MS (default 1500) before loading it.
 */

const target = process.env['TOKENGATE_TEST_SLOW_IMPORT'];
const delayMs = Number(process.env['TOKENGATE_TEST_SLOW_IMPORT_MS'] ?? 1500);

if (target !== undefined && target !== '') {
  registerHooks({
    load(url, context, nextLoad) {
      if (url.endsWith(target)) {
        process.stderr.write(`loading ${target}\n`);
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, delayMs);
      }
      return nextLoad(url, context);
    },
  });
}
