/**
 * The key a client address is counted under: an IPv4 address as it is, an IPv6 address by its
 * /64 (a network hands a client a whole /64, so each of its addresses is the same client). An
 * IPv4-mapped IPv6 address (`::ffff:192.0.2.1`) is its IPv4 address.
 */
import { isIPv6 } from 'node:net';

const MAPPED_V4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;

export function addressKey(ip: string): string {
  const mapped = MAPPED_V4.exec(ip);
  if (mapped) return mapped[1]!;
  if (!isIPv6(ip)) return ip;
  const [head, tail = ''] = ip.split('%')[0]!.split('::');
  const left = head === '' ? [] : head!.split(':');
  const right = ip.includes('::') ? (tail === '' ? [] : tail.split(':')) : [];
  const groups = ip.includes('::') ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((g) => Number.parseInt(g, 16).toString(16)).join(':')}::/64`;
}
