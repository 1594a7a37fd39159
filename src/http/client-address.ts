import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';

/**
 * The client address Tokengate trusts, for per-client limits: the socket's peer, unless that
 * peer is a trusted proxy (`server.trustedProxies`: addresses or CIDR blocks); then the
 * X-Forwarded-For list is read from the right (the entry the nearest proxy added) past every
 * trusted proxy, and the first address that is not one is the client. A malformed entry ends
 * the walk at the last good address: a client cannot pick its own address by writing junk or
 * by prepending entries, since only the hops that trusted proxies appended are read.
 * IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`) count as their IPv4 address.
 */
export function clientAddressResolver(trustedProxies: readonly string[]): (req: IncomingMessage) => string {
  const trusted = new BlockList();
  for (const entry of trustedProxies) {
    const [address, bits] = entry.split('/') as [string, string | undefined];
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) trusted.addAddress(address, family);
    else trusted.addSubnet(address, Number(bits), family);
  }
  const isTrusted = (address: string) => trustedProxies.length > 0 && trusted.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');

  return (req) => {
    let client = plain(req.socket.remoteAddress ?? '');
    if (!isTrusted(client)) return client;
    const header = req.headers['x-forwarded-for'];
    const hops = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',').map((hop) => plain(hop.trim()));
    for (let index = hops.length - 1; index >= 0; index -= 1) {
      const hop = hops[index]!;
      if (isIP(hop) === 0) break;
      client = hop;
      if (!isTrusted(hop)) break;
    }
    return client;
  };
}

function plain(address: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  return mapped ? mapped[1]! : address;
}
