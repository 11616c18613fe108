/**
 * The operator network: where /readyz and /metrics may be read without a token. Matched on
 * the TCP peer address only; a header such as X-Forwarded-For is the client's to forge.
 * node's BlockList does the CIDR matching (IPv4 and IPv6).
 */
import { BlockList, isIP } from 'node:net';
import { ConfigError } from './errors';

export interface NetworkList {
  readonly text: string;
  has(address: string | undefined): boolean;
}

/** "127.0.0.1/8,::1/128,10.0.0.5": CIDRs or single addresses, comma-separated. */
export function parseNetworkList(name: string, text: string): NetworkList {
  const list = new BlockList();
  for (const item of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [address, prefixText, extra] = item.split('/');
    const family = isIP(address ?? '');
    const prefixMax = family === 4 ? 32 : 128;
    const prefix = prefixText === undefined ? prefixMax : Number(prefixText);
    if (family === 0 || extra !== undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > prefixMax || (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText))) {
      throw new ConfigError(`${name}: "${item}" is not an address or CIDR (e.g. 10.0.0.0/8, ::1/128)`);
    }
    list.addSubnet(address!, prefix, family === 4 ? 'ipv4' : 'ipv6');
  }
  return {
    text,
    has(raw) {
      if (!raw) return false;
      // An IPv4 peer on a dual-stack socket shows as ::ffff:a.b.c.d.
      const address = raw.startsWith('::ffff:') && isIP(raw.slice(7)) === 4 ? raw.slice(7) : raw;
      const family = isIP(address);
      if (family === 0) return false;
      return list.check(address, family === 4 ? 'ipv4' : 'ipv6');
    },
  };
}
