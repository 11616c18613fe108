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

interface NetworkItem {
  readonly text: string;
  readonly address: string;
  readonly prefix: number;
  readonly family: 'ipv4' | 'ipv6';
}

/** "127.0.0.1/8,::1/128,10.0.0.5": CIDRs or single addresses, comma-separated. */
function networkItems(name: string, text: string): NetworkItem[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((item) => {
      const [address, prefixText, extra] = item.split('/');
      const family = isIP(address ?? '');
      const prefixMax = family === 4 ? 32 : 128;
      const prefix = prefixText === undefined ? prefixMax : Number(prefixText);
      if (family === 0 || extra !== undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > prefixMax || (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText))) {
        throw new ConfigError(`${name}: "${item.slice(0, 64)}" is not an address or CIDR (e.g. 10.0.0.0/8, ::1/128)`);
      }
      return { text: item, address: address!, prefix, family: family === 4 ? 'ipv4' : 'ipv6' };
    });
}

export function parseNetworkList(name: string, text: string): NetworkList {
  const list = new BlockList();
  for (const { address, prefix, family } of networkItems(name, text)) list.addSubnet(address, prefix, family);
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

/**
 * The widest operator networks production takes: an IPv4 /8 (10.0.0.0/8) and an IPv6 /7
 * (fc00::/7, the unique-local range). Anything wider is most of an address family (two
 * halves, 0.0.0.0/1 and 128.0.0.0/1, are every address without a /0).
 */
const OPERATOR_PREFIX_MIN = { ipv4: 8, ipv6: 7 } as const;

/** The IPv4-mapped IPv6 range (::ffff:a.b.c.d): BlockList matches an IPv4 peer against it too. */
const MAPPED_PREFIX = 96;
const MAPPED_RANGE = new BlockList();
MAPPED_RANGE.addSubnet('::ffff:0:0', MAPPED_PREFIX, 'ipv6');

/**
 * How wide an item is for the IPv4 peers it lets in, as an IPv4 prefix, when it is an IPv6
 * subnet that covers IPv4-mapped addresses: `::ffff:0:0/96` or `::/8` is every IPv4 address
 * (a /0), `::ffff:10.0.0.0/104` is 10.0.0.0/8. null for one that covers none.
 */
function mappedIpv4Prefix(item: NetworkItem): number | null {
  if (item.family !== 'ipv6') return null;
  if (item.prefix > MAPPED_PREFIX) return MAPPED_RANGE.check(item.address, 'ipv6') ? item.prefix - MAPPED_PREFIX : null;
  // A CIDR block holding both ends of the mapped range holds all of it (blocks nest or are disjoint).
  const block = new BlockList();
  block.addSubnet(item.address, item.prefix, 'ipv6');
  return block.check('::ffff:0.0.0.0', 'ipv6') && block.check('::ffff:255.255.255.255', 'ipv6') ? 0 : null;
}

/** Too wide: most of its own family, or most of IPv4 through the IPv4-mapped IPv6 range. */
function isOpen(item: NetworkItem): boolean {
  const mapped = mappedIpv4Prefix(item);
  return item.prefix < OPERATOR_PREFIX_MIN[item.family] || (mapped !== null && mapped < OPERATOR_PREFIX_MIN.ipv4);
}

/** An operator network list that lets everyone, or most of the internet, in (production only calls this). */
export function openNetworkProblems(name: string, text: string): string[] {
  const open = networkItems(name, text).filter(isOpen);
  if (open.length === 0) return [];
  return [
    `${name}: ${open.map((item) => item.text).join(', ')} opens the operator endpoints (/metrics, readiness) to every address or most of them (wider than a /${OPERATOR_PREFIX_MIN.ipv4} or an IPv6 /${OPERATOR_PREFIX_MIN.ipv6}, IPv4-mapped IPv6 counted as IPv4); list your operators' networks`,
  ];
}
