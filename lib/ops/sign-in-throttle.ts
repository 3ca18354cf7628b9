/**
 * How often the ops page's sign-in may be got wrong. Failed sign-ins are counted per client (its address, IPv6 by
 * its /64) and per instance overall, in windows of 15 minutes from a client's first failure: a client that failed
 * 10 times, or any client once the instance saw 100 failures, is answered 429 until the window ends, before its
 * token is even read. A right token ends the client's window.
 *
 * What holds the token is its length and randomness (lib/env.ts refuses a guessable OPS_TOKEN: 32 characters or
 * more, no pattern); the throttle keeps a guesser from being answered a hundred times a second and the log from
 * getting a line per guess. That is why counting in memory, per instance, is enough: with N warm instances a
 * guesser gets N × 100 tries per 15 minutes against a space of 2^128 or more. A shared count (in SQL, where the
 * sessions are) would make the limits exact across instances; SignInThrottle is the seam for it.
 */
import { isIP } from "node:net";

export const SIGN_IN_LIMITS = { windowSeconds: 15 * 60, perClient: 10, overall: 100 } as const;
export interface SignInLimits {
  windowSeconds: number;
  perClient: number;
  overall: number;
}

export type ThrottleScope = "client" | "overall";

/** A window that ended, with its counts: refused tokens, and attempts answered 429 without being read. */
export type EndedWindow =
  | { scope: "client"; client: string; failures: number; throttled: number; since: Date; until: Date }
  | { scope: "overall"; failures: number; throttled: number; clients: number; since: Date; until: Date };

export interface Admission {
  /** Set: answer 429 with Retry-After `seconds`; the token is not read. */
  wait: { seconds: number; scope: ThrottleScope } | null;
  /** Windows that ended since the throttle was last asked, to be logged once each. */
  ended: EndedWindow[];
}

export interface Outcome {
  /** The client's failures in its window (0 after a right token). */
  failures: number;
  /** The client's first failure of its window: logged at once (the rest are counted, and logged when it ends). */
  first: boolean;
  /** Set when this failure reached the overall limit: everyone is held off from now to the window's end. */
  overallReached: { failures: number; clients: number } | null;
  ended: EndedWindow[];
}

/** Where failed sign-ins are counted: in memory (memorySignInThrottle), or a shared store with the same answers. */
export interface SignInThrottle {
  /** Before the form is read: whether this client may try now. */
  admit(client: string, now: Date): Promise<Admission>;
  /** The outcome of an admitted try. */
  record(client: string, ok: boolean, now: Date): Promise<Outcome>;
}

interface Window {
  since: number;
  failures: number;
  throttled: number;
}

/**
 * This instance's counts. Memory is bounded by the limits: a client is kept only once it failed, and no failure is
 * counted while the overall limit holds everyone off, so at most `overall` clients are kept per window.
 */
export function memorySignInThrottle(limits: SignInLimits = SIGN_IN_LIMITS): SignInThrottle & { size(): number } {
  const windowMs = limits.windowSeconds * 1000;
  const clients = new Map<string, Window>();
  let overall: (Window & { clients: Set<string> }) | null = null;
  const secondsLeft = (since: number, now: number) => Math.max(1, Math.ceil((since + windowMs - now) / 1000));

  /** Ends the windows that are over, and says which to log. */
  function sweep(now: number): EndedWindow[] {
    const ended: EndedWindow[] = [];
    for (const [client, w] of clients) {
      if (now < w.since + windowMs) continue;
      clients.delete(client);
      if (w.failures > 1 || w.throttled > 0) ended.push(clientWindow(client, w, w.since + windowMs));
    }
    if (overall && now >= overall.since + windowMs) {
      if (overall.failures >= limits.overall) {
        const { failures, throttled, since } = overall;
        ended.push({
          scope: "overall",
          failures,
          throttled,
          clients: overall.clients.size,
          since: new Date(since),
          until: new Date(since + windowMs),
        });
      }
      overall = null;
    }
    return ended;
  }
  const clientWindow = (client: string, w: Window, until: number): EndedWindow => ({
    scope: "client",
    client,
    failures: w.failures,
    throttled: w.throttled,
    since: new Date(w.since),
    until: new Date(until),
  });

  return {
    size: () => clients.size,
    async admit(client, at) {
      const now = at.getTime();
      const ended = sweep(now);
      const own = clients.get(client);
      if (overall && overall.failures >= limits.overall) {
        overall.throttled += 1;
        if (own) own.throttled += 1;
        return { wait: { seconds: secondsLeft(overall.since, now), scope: "overall" }, ended };
      }
      if (own && own.failures >= limits.perClient) {
        own.throttled += 1;
        return { wait: { seconds: secondsLeft(own.since, now), scope: "client" }, ended };
      }
      return { wait: null, ended };
    },
    async record(client, ok, at) {
      const now = at.getTime();
      const ended = sweep(now);
      if (ok) {
        const own = clients.get(client);
        clients.delete(client);
        if (own && (own.failures > 1 || own.throttled > 0)) ended.push(clientWindow(client, own, now));
        return { failures: 0, first: false, overallReached: null, ended };
      }
      const own = clients.get(client) ?? { since: now, failures: 0, throttled: 0 };
      own.failures += 1;
      clients.set(client, own);
      overall ??= { since: now, failures: 0, throttled: 0, clients: new Set() };
      overall.failures += 1;
      overall.clients.add(client);
      const overallReached = overall.failures === limits.overall ? { failures: overall.failures, clients: overall.clients.size } : null;
      return { failures: own.failures, first: own.failures === 1, overallReached, ended };
    },
  };
}

/**
 * The client a request comes from, as the throttle counts it: `x-forwarded-for`'s first entry, else `x-real-ip`.
 * On Vercel both hold the caller's address (Vercel overwrites what the caller sent). Elsewhere they are only as
 * good as the proxy in front: `next start` fills in the socket's address only when the caller sent none, so a
 * caller reaching it directly can claim any address; that spreads its guesses over many "clients", which the
 * overall limit still counts. An IPv6 address counts by its /64 (one host commonly holds a whole /64); anything
 * that is not an address shares one bucket, so no string a caller made up becomes a key or a log field.
 */
export function clientOf(headers: Headers): string {
  const raw = headers.get("x-forwarded-for")?.split(",")[0]?.trim() || headers.get("x-real-ip")?.trim() || "";
  if (!raw) return "unknown";
  if (raw.length > 100) return "unrecognised";
  let value = raw;
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(value);
  if (bracketed) value = bracketed[1]!;
  else if (/^\d{1,3}(?:\.\d{1,3}){3}:\d{1,5}$/.test(value)) value = value.replace(/:\d+$/, "");
  value = value.replace(/%[0-9A-Za-z._~-]+$/, ""); // an IPv6 zone
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(value);
  if (mapped) value = mapped[1]!;
  switch (isIP(value)) {
    case 4:
      return value;
    case 6:
      return `${ipv6Groups(value).slice(0, 4).join(":")}::/64`;
    default:
      return "unrecognised";
  }
}

/** The eight groups of a valid IPv6 address, lower case without leading zeros ("::" and a dotted tail expanded). */
function ipv6Groups(address: string): string[] {
  let value = address.toLowerCase();
  const dotted = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(value);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    value = `${value.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = "", tail] = value.split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups = tail === undefined ? left : [...left, ...new Array<string>(8 - left.length - right.length).fill("0"), ...right];
  return groups.map((group) => parseInt(group, 16).toString(16));
}
