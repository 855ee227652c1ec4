import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { InvalidCallbackError } from "../errors.ts";
import type { FetchFn } from "./delivery.ts";
import { CallbackRefusedError } from "../errors.ts";

/** Resolves a host name to its addresses (IPv4 dotted, IPv6 colon form). */
export type ResolveFn = (hostname: string) => Promise<string[]>;

/** The operating system's resolver (getaddrinfo: /etc/hosts, then DNS), every address. */
export const systemResolve: ResolveFn = async (hostname) =>
  (await lookup(hostname, { all: true, verbatim: true })).map((entry) => entry.address);

export { CallbackRefusedError };

export const PRIVATE_ADDRESS_MESSAGE = "callback resolves to a private address";
/** Longest a registration waits for its callback's host to resolve. @default 5 000 */
export const REGISTRATION_LOOKUP_TIMEOUT_MS = 5_000;

// [network, prefix length]: not reachable on the public internet, or reaching the host itself.
const PRIVATE_V4: readonly [string, number][] = [
  ["0.0.0.0", 8], // "this network"; 0.0.0.0 reaches the local host on Linux
  ["10.0.0.0", 8],
  ["100.64.0.0", 10], // carrier-grade NAT; some clouds put metadata services here
  ["127.0.0.0", 8],
  ["169.254.0.0", 16], // link-local, including cloud metadata at 169.254.169.254
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4], // reserved, and the broadcast address
];

const PRIVATE_V4_RANGES = PRIVATE_V4.map(([network, bits]) => ({ base: ipv4ToNumber(network)!, mask: bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0 }));

/**
 * True for addresses a callback must not reach when CALLBACK_ALLOW_PRIVATE
 * is false: IPv4 loopback, RFC 1918, link-local, CGNAT, "this network",
 * multicast and reserved; IPv6 unspecified, loopback, unique-local
 * (fc00::/7), link-local (fe80::/10), site-local, multicast; and IPv6 forms
 * that embed an IPv4 address (mapped, compatible, NAT64, 6to4) when that
 * address is one of these. Anything that is not an IP address counts as
 * private: refusing is the safe answer.
 */
export function isPrivateAddress(address: string): boolean {
  const version = isIP(address.replace(/%.*$/, ""));
  if (version === 4) return isPrivateV4(ipv4ToNumber(address)!);
  if (version === 6) return isPrivateV6(ipv6Groups(address.replace(/%.*$/, "")));
  return true;
}

function isPrivateV4(value: number): boolean {
  return PRIVATE_V4_RANGES.some(({ base, mask }) => ((value & mask) >>> 0) === base);
}

function isPrivateV6(g: number[]): boolean {
  const embeddedV4 = (hi: number, lo: number) => isPrivateV4(((hi << 16) | lo) >>> 0);
  const zeroUpTo = (n: number) => g.slice(0, n).every((x) => x === 0);
  if (zeroUpTo(5) && g[5] === 0xffff) return embeddedV4(g[6]!, g[7]!); // ::ffff:a.b.c.d
  if (zeroUpTo(6)) return embeddedV4(g[6]!, g[7]!); // ::, ::1 and ::a.b.c.d
  if (g[0] === 0x64 && g[1] === 0xff9b) return g[2] !== 0 || embeddedV4(g[6]!, g[7]!); // NAT64; 64:ff9b:1::/48 is local
  if (g[0] === 0x2002) return embeddedV4(g[1]!, g[2]!); // 6to4
  if (g[0] === 0x100 && g[1] === 0 && g[2] === 0 && g[3] === 0) return true; // 100::/64, discard-only
  const first = g[0]!;
  return (first & 0xfe00) === 0xfc00 || (first & 0xffc0) === 0xfe80 || (first & 0xffc0) === 0xfec0 || (first & 0xff00) === 0xff00;
}

function ipv4ToNumber(address: string): number | null {
  const parts = address.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return null;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

/** The eight 16-bit groups of a valid IPv6 address (an embedded dotted quad becomes the last two). */
function ipv6Groups(address: string): number[] {
  let text = address;
  const tail: number[] = [];
  const quad = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (quad) {
    const value = ipv4ToNumber(quad[1]!) ?? 0;
    tail.push(value >>> 16, value & 0xffff);
    text = text.slice(0, -quad[1]!.length);
    if (text.endsWith(":") && !text.endsWith("::")) text = text.slice(0, -1);
  }
  const [head = "", rest] = text.split("::");
  const parse = (part: string) => (part === "" ? [] : part.split(":").map((group) => parseInt(group, 16)));
  const left = parse(head);
  const right = [...parse(rest ?? ""), ...tail];
  if (rest === undefined) return [...left, ...right];
  return [...left, ...Array<number>(8 - left.length - right.length).fill(0), ...right];
}

/** A URL's host as an address list: an IP literal is itself, a name is resolved. */
async function addressesOf(hostname: string, resolve: ResolveFn): Promise<string[]> {
  const bare = hostname.startsWith("[") && hostname.endsWith("]") ? hostname.slice(1, -1) : hostname;
  if (isIP(bare) !== 0) return [bare];
  return resolve(bare);
}

/**
 * Registration-time check for CALLBACK_ALLOW_PRIVATE=false: the callback's
 * host must resolve, and every address it resolves to must be public (one
 * private answer among public ones is refused too, or a resolver could pick).
 * @throws InvalidCallbackError
 */
export async function assertPublicCallback(callback: string, resolve: ResolveFn, timeoutMs = REGISTRATION_LOOKUP_TIMEOUT_MS): Promise<void> {
  const { hostname } = new URL(callback);
  let addresses: string[];
  try {
    addresses = await abortable(addressesOf(hostname, resolve), AbortSignal.timeout(timeoutMs));
  } catch (error) {
    throw new InvalidCallbackError(`callback host '${hostname}' could not be resolved`, { cause: error });
  }
  if (addresses.length === 0) throw new InvalidCallbackError(`callback host '${hostname}' could not be resolved`);
  if (addresses.some(isPrivateAddress)) {
    // The addresses are not echoed: they would tell a caller how internal names resolve.
    throw new InvalidCallbackError(
      `callback host '${hostname}' resolves to a loopback, private, link-local or unique-local address, which this server refuses (CALLBACK_ALLOW_PRIVATE=false)`,
    );
  }
}

/**
 * Delivery-time check for CALLBACK_ALLOW_PRIVATE=false, as a `fetch`
 * wrapper: the host is resolved again before every call, so a name that
 * turned private after registration (DNS rebinding) is refused with
 * CallbackRefusedError. For `http:` the call then goes to the very address
 * that was checked (the URL names the IP, `Host` names the registered host),
 * so a second, different answer to fetch's own lookup cannot slip in. For
 * `https:` the name must stay in the URL for certificate verification, and
 * that verification is what pins the peer: an internal server cannot present
 * a certificate for the attacker's name, so the handshake fails before any
 * request byte is sent.
 */
export function publicOnlyFetch(fetchFn: FetchFn, resolve: ResolveFn): FetchFn {
  return async (url, init) => {
    const target = new URL(url);
    const addresses = await abortable(addressesOf(target.hostname, resolve), init.signal);
    if (addresses.length === 0) throw new CallbackRefusedError("callback host could not be resolved");
    if (addresses.some(isPrivateAddress)) throw new CallbackRefusedError(PRIVATE_ADDRESS_MESSAGE);
    if (target.protocol !== "http:") return fetchFn(url, init);
    const pinned = new URL(url);
    // IPv4 first when there is one: a host without IPv6 routes would otherwise fail where fetch would not.
    const address = addresses.find((a) => !a.includes(":")) ?? addresses[0]!;
    pinned.hostname = address.includes(":") ? `[${address}]` : address;
    const headers = new Headers(init.headers);
    headers.set("host", target.host);
    return fetchFn(pinned.href, { ...init, headers });
  };
}

/** Rejects when `signal` aborts (a resolver cannot be cancelled, but the delivery need not wait for it). */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | null | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
