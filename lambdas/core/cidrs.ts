/**
 * IPv4 CIDR blocks: the stack's `cameraCidrs` are checked with them at synth, and, with camera
 * keys off, every camera request's address is held against them (the address is then all that
 * tells a camera from anyone else on the internet).
 */

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** An IPv4 address as a 32-bit number, or undefined when it is not one. */
function ipv4Number(address: string): number | undefined {
  const octets = IPV4.exec(address)?.slice(1, 5).map(Number);
  if (!octets || octets.some((o) => o > 255)) return undefined;
  return octets.reduce((acc, o) => acc * 256 + o, 0);
}

/** A block's first address and size, or undefined when it is not an IPv4 CIDR block. */
function ipv4Block(cidr: string): { start: number; size: number } | undefined {
  const [address = "", prefix = "", ...rest] = cidr.split("/");
  const start = ipv4Number(address);
  if (start === undefined || rest.length > 0 || !/^\d{1,2}$/.test(prefix) || Number(prefix) > 32) return undefined;
  return { start, size: 2 ** (32 - Number(prefix)) };
}

/** Checks a CIDR block: IPv4, host bits zero (EC2 refuses others). */
export function isIpv4Cidr(value: string): boolean {
  const block = ipv4Block(value);
  return block !== undefined && block.start % block.size === 0;
}

/**
 * Whether an address is inside one of the blocks. An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`,
 * how Node reports IPv4 peers on a dual-stack socket) counts as its IPv4 address; any other IPv6
 * address is outside every block, since the blocks are IPv4.
 */
export function addressInCidrs(address: string, cidrs: readonly string[]): boolean {
  const value = ipv4Number(address.replace(/^::ffff:/i, ""));
  if (value === undefined) return false;
  return cidrs.some((cidr) => {
    const block = ipv4Block(cidr);
    return block !== undefined && value >= block.start && value < block.start + block.size;
  });
}
