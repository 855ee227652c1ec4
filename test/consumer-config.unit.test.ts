import { describe, expect, test } from "bun:test";
import { ConfigError, defaultConfig, loadConfig } from "../src/config.ts";

describe("delivery settings", () => {
  test("defaults are the issue's", () => {
    expect(defaultConfig()).toMatchObject({
      deliveryBatchSize: 100,
      deliveryMaxBytes: 1024 * 1024,
      deliveryTimeoutMs: 30_000,
      consumerRetryBaseMs: 1000,
      consumerRetryMaxMs: 60_000,
      consumerMaxAttempts: 5,
      onConsumerFailure: "remove",
    });
  });

  test("each has an environment variable and a flag; a flag wins", () => {
    const env = {
      DELIVERY_BATCH_SIZE: "10",
      DELIVERY_MAX_BYTES: "4096",
      DELIVERY_TIMEOUT_MS: "500",
      CONSUMER_RETRY_BASE_MS: "5",
      CONSUMER_RETRY_MAX_MS: "50",
      CONSUMER_MAX_ATTEMPTS: "2",
      ON_CONSUMER_FAILURE: "pause",
    };
    expect(loadConfig(env, ["--consumer-max-attempts", "3", "--on-consumer-failure=remove"])).toMatchObject({
      deliveryBatchSize: 10,
      deliveryMaxBytes: 4096,
      deliveryTimeoutMs: 500,
      consumerRetryBaseMs: 5,
      consumerRetryMaxMs: 50,
      consumerMaxAttempts: 3,
      onConsumerFailure: "remove",
    });
  });

  test.each([
    [{ ON_CONSUMER_FAILURE: "drop" }, "ON_CONSUMER_FAILURE must be one of remove, pause, got 'drop'"],
    [{ DELIVERY_BATCH_SIZE: "0" }, "DELIVERY_BATCH_SIZE must be between 1 and 100000, got 0"],
    [{ DELIVERY_MAX_BYTES: "10" }, "DELIVERY_MAX_BYTES must be between 1024 and 268435456, got 10"],
    [{ CONSUMER_MAX_ATTEMPTS: "many" }, "CONSUMER_MAX_ATTEMPTS must be an integer, got 'many'"],
  ])("%o → ConfigError %s", (env, message) => {
    expect(() => loadConfig(env)).toThrow(new ConfigError(message));
  });
});
