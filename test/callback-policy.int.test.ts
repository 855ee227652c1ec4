import { describe, expect, test } from "bun:test";
import { assertPublicCallback, isPrivateAddress, publicOnlyFetch, type ResolveFn } from "../src/consumers/callback-policy.ts";
import type { FetchFn } from "../src/consumers/delivery.ts";
import { deliver } from "../src/consumers/delivery.ts";
import { detailsWhen, FAST_RETRY, gone, startStore } from "./consumer-harness.ts";
import { tempDir } from "./utils.ts";
import { ids, startReceiver } from "./webhook-receiver.ts";

const PUBLIC_V4 = "93.184.215.14";
const PUBLIC_V6 = "2606:2800:21f:cb07:6820:80da:af6b:8b2c";

describe("isPrivateAddress", () => {
  test.each([
    "127.0.0.1", "127.255.255.254", "10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.0.1", "169.254.169.254", "0.0.0.0",
    "100.64.0.1", "100.127.255.255", "224.0.0.1", "255.255.255.255", "198.18.0.1",
    "::1", "::", "fe80::1", "fe80::1%eth0", "febf::1", "fc00::1", "fd12:3456::1", "fec0::1", "ff02::1", "100::1",
    "::ffff:127.0.0.1", "::ffff:7f00:1", "::ffff:10.0.0.1", "::ffff:a9fe:a9fe", "::127.0.0.1", "64:ff9b::7f00:1", "64:ff9b:1::1", "2002:c0a8:101::1",
    "not-an-address", "",
  ])("%s is refused", (address) => {
    expect(isPrivateAddress(address)).toBe(true);
  });

  test.each([PUBLIC_V4, "8.8.8.8", "1.1.1.1", "172.32.0.1", "172.15.255.255", "100.128.0.1", "192.169.0.1", "11.0.0.1", PUBLIC_V6, "2001:4860:4860::8888", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1", "fe00::1"])(
    "%s is public",
    (address) => {
      expect(isPrivateAddress(address)).toBe(false);
    },
  );
});

describe("assertPublicCallback (registration)", () => {
  const noDns: ResolveFn = async (host) => {
    throw new Error(`unexpected lookup of ${host}`);
  };

  test.each([
    "http://127.0.0.1:8080/hook",
    "http://2130706433/hook", // 127.0.0.1 as one number; URL parsing normalizes it
    "http://0x7f.1/hook",
    "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "https://10.1.2.3/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://[fd00::1]:9000/",
    "http://0/",
  ])("literal private address %s → INVALID_CALLBACK without a lookup", async (callback) => {
    await expect(assertPublicCallback(callback, noDns)).rejects.toMatchObject({ status: 400, code: "INVALID_CALLBACK" });
  });

  test("localhost resolves (through the system resolver) to loopback → refused", async () => {
    const { systemResolve } = await import("../src/consumers/callback-policy.ts");
    await expect(assertPublicCallback("http://localhost:9/hook", systemResolve)).rejects.toMatchObject({ code: "INVALID_CALLBACK" });
  });

  test("a name is refused when any of its addresses is private, or when it does not resolve; public names and literals pass", async () => {
    const resolve: ResolveFn = async (host) => ({ mixed: [PUBLIC_V4, "10.0.0.1"], pub: [PUBLIC_V4, PUBLIC_V6], none: [] })[host] ?? Promise.reject(Object.assign(new Error("ENOTFOUND"), { code: "ENOTFOUND" }));
    await expect(assertPublicCallback("https://mixed/hook", resolve)).rejects.toMatchObject({ code: "INVALID_CALLBACK" });
    await expect(assertPublicCallback("https://none/hook", resolve)).rejects.toThrow("callback host 'none' could not be resolved");
    await expect(assertPublicCallback("https://nxdomain/hook", resolve)).rejects.toThrow("callback host 'nxdomain' could not be resolved");
    await assertPublicCallback("https://pub/hook", resolve);
    await expect(assertPublicCallback("https://slow/hook", () => new Promise(() => {}), 20)).rejects.toThrow("callback host 'slow' could not be resolved");
    await assertPublicCallback(`http://${PUBLIC_V4}:8080/hook`, noDns);
    await assertPublicCallback(`http://[${PUBLIC_V6}]/hook`, noDns);
  });
});

describe("publicOnlyFetch (delivery)", () => {
  const recording = () => {
    const calls: { url: string; host: string | null }[] = [];
    const fetchFn: FetchFn = async (url, init) => {
      calls.push({ url, host: new Headers(init.headers).get("host") });
      return new Response(null, { status: 204 });
    };
    return { calls, fetchFn };
  };
  const send = (fetchFn: FetchFn, url: string) =>
    deliver(fetchFn, { url, body: new Uint8Array(2), headers: { "content-type": "application/json" }, timeoutMs: 1000, signal: new AbortController().signal });

  test("http: connects to the checked address, with the registered host in Host", async () => {
    const { calls, fetchFn } = recording();
    const guarded = publicOnlyFetch(fetchFn, async () => [PUBLIC_V6, PUBLIC_V4]);
    expect(await send(guarded, "http://hooks.example:8080/in?x=1")).toEqual({ kind: "ok" });
    expect(calls).toEqual([{ url: `http://${PUBLIC_V4}:8080/in?x=1`, host: "hooks.example:8080" }]);
    const v6 = publicOnlyFetch(fetchFn, async () => [PUBLIC_V6, "2001:4860:4860::8888"]);
    await send(v6, "http://hooks.example/in");
    expect(calls[1]).toEqual({ url: `http://[${PUBLIC_V6}]/in`, host: "hooks.example" });
  });

  test("https: the name stays (certificate verification pins the peer)", async () => {
    const { calls, fetchFn } = recording();
    await send(publicOnlyFetch(fetchFn, async () => [PUBLIC_V4]), "https://hooks.example/in");
    expect(calls).toEqual([{ url: "https://hooks.example/in", host: null }]);
  });

  test("a private answer is a failed attempt with a clear error, and nothing is sent", async () => {
    const { calls, fetchFn } = recording();
    const guarded = publicOnlyFetch(fetchFn, async () => ["127.0.0.1"]);
    expect(await send(guarded, "http://hooks.example/in")).toEqual({ kind: "retry", error: "callback resolves to a private address" });
    expect(await send(guarded, "https://hooks.example/in")).toEqual({ kind: "retry", error: "callback resolves to a private address" });
    expect(await send(guarded, "http://127.0.0.1:1/in")).toEqual({ kind: "retry", error: "callback resolves to a private address" });
    expect(calls).toEqual([]);
  });

  test("a resolver that hangs is cut off by the delivery timeout", async () => {
    const { fetchFn } = recording();
    const guarded = publicOnlyFetch(fetchFn, () => new Promise<string[]>(() => {}));
    const outcome = await deliver(guarded, { url: "http://slow.example/", body: new Uint8Array(0), headers: {}, timeoutMs: 30, signal: new AbortController().signal });
    expect(outcome).toEqual({ kind: "retry", error: "timeout after 30 ms" });
  });
});

describe("CALLBACK_ALLOW_PRIVATE=false on a real server", () => {
  test("registration of loopback, private and link-local callbacks → 400 INVALID_CALLBACK, nothing stored; the default allows them", async () => {
    using dir = tempDir();
    await using store = await startStore(dir.path, { callbackAllowPrivate: false });
    await store.createTopic("t");
    for (const callback of ["http://localhost:9/h", "http://127.0.0.1:9/h", "http://[::1]:9/h", "http://10.0.0.8/h", "http://169.254.169.254/", "http://2130706433/", "http://[fe80::1]/"]) {
      const answer = await store.api("POST", "/consumers/register", { callback, topics: { t: null } });
      expect({ callback, status: answer.status, code: answer.body.code }).toEqual({ callback, status: 400, code: "INVALID_CALLBACK" });
    }
    expect((await store.api("GET", "/consumers")).body).toEqual({ consumers: [] });

    using other = tempDir();
    await using open = await startStore(other.path);
    await open.createTopic("t");
    expect((await open.api("POST", "/consumers/register", { callback: "http://127.0.0.1:9/h", topics: { t: null } })).status).toBe(201);
  });

  test("DNS rebinding: public at registration, 127.0.0.1 at delivery → refused before connecting, counted as failures, then removed", async () => {
    using dir = tempDir();
    await using receiver = startReceiver();
    const port = new URL(receiver.url).port;
    let answer = PUBLIC_V4;
    const lookups: string[] = [];
    const resolve: ResolveFn = async (host) => {
      lookups.push(host);
      return [answer];
    };
    await using store = await startStore(dir.path, { ...FAST_RETRY, callbackAllowPrivate: false, consumerMaxAttempts: 3 }, { resolve });
    await store.createTopic("t");
    const { consumerId } = await store.register(`http://rebind.example:${port}/hook`, { t: null });
    expect(lookups).toEqual(["rebind.example"]);
    answer = "127.0.0.1"; // the attacker's DNS now points the name at the store's own host
    await store.publish("t", 2);
    const retrying = await detailsWhen(store, consumerId, (d) => d.attempts >= 1, "a refused attempt");
    expect(retrying.lastError).toBe("callback resolves to a private address");
    const removed = await gone(store, consumerId);
    expect(removed.reason).toBe("3 consecutive failed deliveries of topic 't' (last: callback resolves to a private address)");
    expect(receiver.deliveries).toEqual([]);
    expect(lookups.length).toBe(4);
  });

  test("a public answer is delivered to exactly the checked address (fetch sees the IP and the Host header)", async () => {
    using dir = tempDir();
    await using receiver = startReceiver();
    const port = new URL(receiver.url).port;
    const seen: { url: string; host: string | null }[] = [];
    // Stands in for the network: the public address is routed to the local receiver.
    const network: FetchFn = (url, init) => {
      seen.push({ url, host: new Headers(init.headers).get("host") });
      return fetch(url.replace(PUBLIC_V4, "127.0.0.1"), init);
    };
    await using store = await startStore(dir.path, { ...FAST_RETRY, callbackAllowPrivate: false }, { resolve: async () => [PUBLIC_V4], fetch: network });
    await store.createTopic("t");
    await store.register(`http://hooks.example:${port}/hook`, { t: null });
    await store.publish("t", 3);
    await receiver.untilAccepted(ids("t", 1, 3));
    expect(seen[0]).toEqual({ url: `http://${PUBLIC_V4}:${port}/hook`, host: `hooks.example:${port}` });
    expect(receiver.deliveries[0]!.headers.get("host")).toBe(`hooks.example:${port}`);
  });
});
