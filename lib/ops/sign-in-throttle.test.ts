import { describe, expect, it } from "vitest";
import { SIGN_IN_LIMITS, clientOf, memorySignInThrottle } from "./sign-in-throttle";

const at = new Date("2026-12-04T12:00:00Z");
const later = (seconds: number) => new Date(at.getTime() + seconds * 1000);
const limits = { windowSeconds: 900, perClient: 3, overall: 5 };

describe("the sign-in throttle (per instance, in memory)", () => {
  it("has limits a person mistyping never meets and a guesser meets at once", () => {
    expect(SIGN_IN_LIMITS).toEqual({ windowSeconds: 900, perClient: 10, overall: 100 });
  });

  it("admits a client until its failures reach the limit, then holds it off until its window ends", async () => {
    const throttle = memorySignInThrottle(limits);
    for (let i = 1; i <= 3; i++) {
      expect((await throttle.admit("198.51.100.7", later(i))).wait).toBeNull();
      expect(await throttle.record("198.51.100.7", false, later(i))).toMatchObject({ failures: i, first: i === 1 });
    }
    expect((await throttle.admit("198.51.100.7", later(10))).wait).toEqual({ seconds: 891, scope: "client" });
    expect((await throttle.admit("198.51.100.7", later(900))).wait).toEqual({ seconds: 1, scope: "client" });
    // another client is not held off by this one
    expect((await throttle.admit("198.51.100.8", later(10))).wait).toBeNull();
    // the window (from the first failure) is over: admitted again, and the window's count comes back once
    const after = await throttle.admit("198.51.100.7", later(901));
    expect(after.wait).toBeNull();
    expect(after.ended).toEqual([
      { scope: "client", client: "198.51.100.7", failures: 3, throttled: 2, since: later(1), until: later(901) },
    ]);
    expect((await throttle.admit("198.51.100.7", later(902))).ended).toEqual([]);
  });

  it("reports no window that had only its first failure (that one was logged when it happened)", async () => {
    const throttle = memorySignInThrottle(limits);
    await throttle.record("198.51.100.7", false, at);
    expect((await throttle.admit("198.51.100.9", later(901))).ended).toEqual([]);
  });

  it("forgets a client's failures when it signs in, reporting them if there were more than one", async () => {
    const throttle = memorySignInThrottle(limits);
    await throttle.record("198.51.100.7", false, later(1));
    await throttle.record("198.51.100.7", false, later(2));
    const ok = await throttle.record("198.51.100.7", true, later(3));
    expect(ok.ended).toEqual([{ scope: "client", client: "198.51.100.7", failures: 2, throttled: 0, since: later(1), until: later(3) }]);
    expect(await throttle.record("198.51.100.7", false, later(4))).toMatchObject({ failures: 1, first: true });
  });

  it("holds everyone off once the instance has seen the overall limit of failures, from any number of clients", async () => {
    const throttle = memorySignInThrottle(limits);
    for (let i = 1; i <= 5; i++) {
      expect((await throttle.admit(`203.0.113.${i}`, later(i))).wait).toBeNull();
      const outcome = await throttle.record(`203.0.113.${i}`, false, later(i));
      expect(outcome.overallReached).toEqual(i === 5 ? { failures: 5, clients: 5 } : null);
    }
    expect((await throttle.admit("192.0.2.1", later(100))).wait).toEqual({ seconds: 801, scope: "overall" });
    expect((await throttle.admit("203.0.113.1", later(100))).wait).toEqual({ seconds: 801, scope: "overall" });
    const after = await throttle.admit("192.0.2.1", later(901));
    expect(after.wait).toBeNull();
    expect(after.ended).toContainEqual({ scope: "overall", failures: 5, throttled: 2, clients: 5, since: later(1), until: later(901) });
  });

  it("keeps no more clients than the overall limit lets fail in a window", async () => {
    const throttle = memorySignInThrottle(limits);
    for (let i = 0; i < 1000; i++) {
      const client = `2001:db8:${i.toString(16)}::1`;
      if ((await throttle.admit(client, later(1))).wait === null) await throttle.record(client, false, later(1));
    }
    expect(throttle.size()).toBe(5);
    await throttle.admit("192.0.2.1", later(901));
    expect(throttle.size()).toBe(0);
  });
});

describe("the client a sign-in comes from", () => {
  const of = (headers: Record<string, string>) => clientOf(new Headers(headers));

  it("is x-forwarded-for's first entry (Vercel sets it to the caller's address), else x-real-ip", () => {
    expect(of({ "x-forwarded-for": "198.51.100.7" })).toBe("198.51.100.7");
    expect(of({ "x-forwarded-for": " 198.51.100.7 , 10.0.0.1" })).toBe("198.51.100.7");
    expect(of({ "x-real-ip": "198.51.100.8" })).toBe("198.51.100.8");
    expect(of({ "x-forwarded-for": "198.51.100.7", "x-real-ip": "198.51.100.8" })).toBe("198.51.100.7");
  });

  it("groups an IPv6 caller by its /64 (one host holds a whole /64), and reads IPv4 however it is written", () => {
    expect(of({ "x-forwarded-for": "2001:db8:1:2:aaaa::1" })).toBe("2001:db8:1:2::/64");
    expect(of({ "x-forwarded-for": "2001:DB8:1:2:bbbb:cccc:dddd:eeee" })).toBe("2001:db8:1:2::/64");
    expect(of({ "x-forwarded-for": "2001:db8::1" })).toBe("2001:db8:0:0::/64");
    expect(of({ "x-forwarded-for": "::1" })).toBe("0:0:0:0::/64");
    expect(of({ "x-forwarded-for": "::ffff:127.0.0.1" })).toBe("127.0.0.1");
    expect(of({ "x-forwarded-for": "198.51.100.7:41234" })).toBe("198.51.100.7");
    expect(of({ "x-forwarded-for": "[2001:db8:1:2::5]:443" })).toBe("2001:db8:1:2::/64");
  });

  it("puts a caller without an address, or with something that is not one, in a shared bucket (never a string the caller chose)", () => {
    expect(of({})).toBe("unknown");
    expect(of({ "x-forwarded-for": "" })).toBe("unknown");
    expect(of({ "x-forwarded-for": "not-an-address, 198.51.100.7" })).toBe("unrecognised");
    expect(of({ "x-forwarded-for": "x".repeat(5000) })).toBe("unrecognised");
  });
});
