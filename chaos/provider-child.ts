import { startOpenIdProvider } from '../demo/op.ts';

/**
 * The demo OpenID Provider in a process of its own, so a chaos scenario can SIGSTOP it (a hung
 * provider) without stopping itself. Configured by environment (CHAOS_OP_*); prints
 * `{"issuer": ...}` once listening; answers a `stats` IPC message with its counters.
 */
const op = await startOpenIdProvider({
  accessTokenTtl: Number(process.env['CHAOS_OP_ACCESS_TTL'] ?? 3600),
  clients: [{ clientId: 'tg', clientSecret: process.env['CHAOS_OP_CLIENT_SECRET']!, redirectUris: [process.env['CHAOS_OP_REDIRECT_URI']!] }],
});
process.on('message', (message) => {
  if (message === 'stats') process.send?.({ stats: op.stats });
});
process.on('disconnect', () => {
  void op.close().finally(() => process.exit(0));
});
process.stdout.write(`${JSON.stringify({ issuer: op.issuer })}\n`);
