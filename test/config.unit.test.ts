import { describe, expect, test } from "bun:test";
import { ConfigError, defaultConfig, flagName, helpText, loadConfig, nodeIdOf, SETTINGS } from "../src/config.ts";

describe("loadConfig", () => {
  test("defaults: port 8000, ./data, ./config, 1 MiB bodies", () => {
    const config = loadConfig({});
    expect(config).toEqual(defaultConfig());
    expect([config.port, config.dataDir, config.configDir, config.maxBodyBytes]).toEqual([8000, "./data", "./config", 1048576]);
  });

  test("environment variables set each value", () => {
    const config = loadConfig({ PORT: "9000", DATA_DIR: "/d", CONFIG_DIR: "/c", MAX_BODY_BYTES: "2048" });
    expect([config.port, config.dataDir, config.configDir, config.maxBodyBytes]).toEqual([9000, "/d", "/c", 2048]);
  });

  test("flags mirror the variables, in both spellings, and win over them", () => {
    const config = loadConfig({ PORT: "9000", DATA_DIR: "/env" }, ["--port", "9100", "--data-dir=/flag", "--max-body-bytes", "4096"]);
    expect([config.port, config.dataDir, config.maxBodyBytes]).toEqual([9100, "/flag", 4096]);
  });

  test.each([
    [{ PORT: "abc" }, [], "PORT must be an integer, got 'abc'"],
    [{ PORT: "70000" }, [], "PORT must be between 0 and 65535, got 70000"],
    [{ MAX_BODY_BYTES: "-1" }, [], "MAX_BODY_BYTES must be an integer, got '-1'"],
    [{ DATA_DIR: " " }, [], "DATA_DIR must not be empty"],
    [{}, ["--port", "x"], "--port must be an integer, got 'x'"],
    [{}, ["--nope", "1"], "unknown option --nope (see --help)"],
    [{}, ["--port"], "option --port needs a value"],
    [{}, ["stray"], "unexpected argument 'stray' (see --help)"],
  ])("%p %p → ConfigError %p", (env, args, message) => {
    expect(() => loadConfig(env, args)).toThrow(new ConfigError(message));
  });

  test("security settings: AUTH_TOKEN list, CALLBACK_ALLOW_PRIVATE, RATE_LIMIT_PER_MINUTE; off by default", () => {
    expect(defaultConfig()).toMatchObject({ authTokens: [], callbackAllowPrivate: true, rateLimitPerMinute: 0 });
    const config = loadConfig({ AUTH_TOKEN: " one , two,,three ", CALLBACK_ALLOW_PRIVATE: "false", RATE_LIMIT_PER_MINUTE: "600" });
    expect([config.authTokens, config.callbackAllowPrivate, config.rateLimitPerMinute]).toEqual([["one", "two", "three"], false, 600]);
    expect(loadConfig({}, ["--auth-token=t", "--callback-allow-private", "TRUE"])).toMatchObject({ authTokens: ["t"], callbackAllowPrivate: true });
    expect(helpText()).toContain("(default: none)");
  });

  test.each([
    [{ AUTH_TOKEN: "" }, "AUTH_TOKEN is set but holds no token; unset it to turn authentication off"],
    [{ AUTH_TOKEN: " , ," }, "AUTH_TOKEN is set but holds no token; unset it to turn authentication off"],
    [{ AUTH_TOKEN: "two words" }, "AUTH_TOKEN: a token may hold only visible ASCII characters other than ','"],
    [{ AUTH_TOKEN: "tök" }, "AUTH_TOKEN: a token may hold only visible ASCII characters other than ','"],
    [{ CALLBACK_ALLOW_PRIVATE: "no" }, "CALLBACK_ALLOW_PRIVATE must be true or false, got 'no'"],
    [{ RATE_LIMIT_PER_MINUTE: "-5" }, "RATE_LIMIT_PER_MINUTE must be an integer, got '-5'"],
  ])("%p → ConfigError %p", (env, message) => {
    expect(() => loadConfig(env)).toThrow(new ConfigError(message));
  });

  test("cluster settings: NATS_URL list (off by default), NATS_REPLICAS 3, NATS_PREFIX event_store; flags too", () => {
    expect(loadConfig({})).toMatchObject({ natsUrls: [], natsReplicas: 3, natsPrefix: "event_store", natsCreds: "", natsToken: "", natsTlsCa: "" });
    const config = loadConfig({ NATS_URL: " nats://10.0.0.1:4222, nats://10.0.0.2:4222 ", NATS_REPLICAS: "1" }, ["--nats-prefix", "shop_store", "--nats-token=s3cret"]);
    expect(config).toMatchObject({ natsUrls: ["nats://10.0.0.1:4222", "nats://10.0.0.2:4222"], natsReplicas: 1, natsPrefix: "shop_store", natsToken: "s3cret" });
  });

  test.each([
    [{ NATS_URL: " , " }, "NATS_URL is set but holds no URL; unset it to use EVENT_LOG"],
    [{ NATS_URL: "http://10.0.0.1:4222" }, "NATS_URL: 'http://10.0.0.1:4222' is not a URL like nats://127.0.0.1:4222"],
    [{ NATS_URL: "nats://h:4222/path" }, "NATS_URL: 'nats://h:4222/path' is not a URL like nats://127.0.0.1:4222"],
    [{ NATS_REPLICAS: "0" }, "NATS_REPLICAS must be between 1 and 5, got 0"],
    [{ NATS_PREFIX: "a.b" }, "NATS_PREFIX must be 1 to 64 of A-Z a-z 0-9 _ -, got 'a.b'"],
  ])("%p → ConfigError %p", (env, message) => {
    expect(() => loadConfig(env)).toThrow(new ConfigError(message));
  });

  test("NODE_ID and CLUSTER_LEASE_MS: the node's name defaults to host:port (host-pid on PORT=0); the lease is 1 s to 1 h", () => {
    expect(nodeIdOf(loadConfig({ NODE_ID: "store-1" }), "box")).toBe("store-1");
    expect(nodeIdOf(loadConfig({ PORT: "8001" }), "box")).toBe("box:8001");
    expect(nodeIdOf(loadConfig({ PORT: "0" }), "box", 4242)).toBe("box-4242");
    expect(loadConfig({}).clusterLeaseMs).toBe(10_000);
    expect(loadConfig({}, ["--cluster-lease-ms", "2500"]).clusterLeaseMs).toBe(2_500);
    expect(() => loadConfig({ CLUSTER_LEASE_MS: "999" })).toThrow(new ConfigError("CLUSTER_LEASE_MS must be between 1000 and 3600000, got 999"));
    expect(() => loadConfig({ NODE_ID: "a b" })).toThrow(new ConfigError("NODE_ID must be 1 to 128 printable characters without spaces, got 'a b'"));
  });

  test("--help lists every setting with its flag and variable", () => {
    const help = helpText();
    for (const setting of SETTINGS) {
      expect(help).toContain(flagName(setting.env));
      expect(help).toContain(setting.env);
    }
    expect(flagName("MAX_BODY_BYTES")).toBe("--max-body-bytes");
  });
});
