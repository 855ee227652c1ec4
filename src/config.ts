/**
 * Server configuration: every setting has an environment variable, a CLI flag
 * of the same name (`MAX_BODY_BYTES` ⇄ `--max-body-bytes`, a flag wins), and a
 * default. Values are checked once at start-up; a bad value stops the server
 * with a one-line message naming the setting.
 */
import { Command, Option } from "commander";
import { DEFAULT_MAX_JSON_DEPTH } from "./json/json-depth.ts";
import type { BackendKind } from "./store/backend.ts";
import { DEFAULT_CLUSTER_LEASE_MS } from "./store/dispatch-leases.ts";
import { DEFAULT_MAX_TOPIC_DOCUMENT_BYTES } from "./topics/topic-registry.ts";
import { ConfigError } from "./errors.ts";

/** @default 8000 */
export const DEFAULT_PORT = 8000;
/** @default "./data" */
export const DEFAULT_DATA_DIR = "./data";
/** @default "./config" */
export const DEFAULT_CONFIG_DIR = "./config";
/** @default 1 MiB */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
/** @default 10 000 */
export const DEFAULT_MAX_BATCH_EVENTS = 10_000;
/** @default 10 000 */
export const DEFAULT_MAX_PAGE_SIZE = 10_000;
/** @default 32 MiB */
export const DEFAULT_SEGMENT_MAX_BYTES = 32 * 1024 * 1024;
/** @default 24 */
export const DEFAULT_IDEMPOTENCY_TTL_HOURS = 24;
/** @default 100 */
export const DEFAULT_DELIVERY_BATCH_SIZE = 100;
/** @default 1 MiB */
export const DEFAULT_DELIVERY_MAX_BYTES = 1024 * 1024;
/** @default 30 000 */
export const DEFAULT_DELIVERY_TIMEOUT_MS = 30_000;
/** @default 1 000 */
export const DEFAULT_CONSUMER_RETRY_BASE_MS = 1_000;
/** @default 60 000 */
export const DEFAULT_CONSUMER_RETRY_MAX_MS = 60_000;
/** @default 5 */
export const DEFAULT_CONSUMER_MAX_ATTEMPTS = 5;
/** @default "remove" */
export const DEFAULT_ON_CONSUMER_FAILURE: ConsumerFailurePolicy = "remove";
/** @default true */
export const DEFAULT_CALLBACK_ALLOW_PRIVATE = true;
/** @default 0 (off) */
export const DEFAULT_RATE_LIMIT_PER_MINUTE = 0;
export { DEFAULT_CLUSTER_LEASE_MS, DEFAULT_MAX_JSON_DEPTH };
/** @default 256 KiB */
export const DEFAULT_MAX_SCHEMA_BYTES = DEFAULT_MAX_TOPIC_DOCUMENT_BYTES;
/** @default 30 000 */
export const DEFAULT_BODY_TIMEOUT_MS = 30_000;
/** @default true */
export const DEFAULT_METRICS_ENABLED = true;
/** @default false */
export const DEFAULT_METRICS_PUBLIC = false;
/** @default 100 */
export const DEFAULT_METRICS_MAX_LABELLED = 100;
/** @default "text" */
export const DEFAULT_LOG_FORMAT: LogFormat = "text";
/** @default "info" */
export const DEFAULT_LOG_LEVEL: LogLevel = "info";

/** `text`: the message as a line; `json`: one object per line with time, level, message and fields. */
export type LogFormat = "text" | "json";
export type LogLevel = "debug" | "info" | "warn" | "error";

/** @default 3 */
export const DEFAULT_NATS_REPLICAS = 3;
/** @default "event_store" */
export const DEFAULT_NATS_PREFIX = "event_store";

/** @default "file" */
export const DEFAULT_EVENT_LOG: BackendKind = "file";

/** What happens to a consumer whose deliveries failed `consumerMaxAttempts` times in a row. */
export type ConsumerFailurePolicy = "remove" | "pause";

export interface Config {
  /** TCP port; 0 picks a free one. @default 8000 */
  port: number;
  /** Interface to listen on. @default "0.0.0.0" */
  host: string;
  /**
   * The backend: `file` (JSON-lines files under DATA_DIR and CONFIG_DIR) or
   * `memory` (for tests and demos: nothing survives a restart). @default "file"
   */
  eventLog: BackendKind;
  /** Where events (and consumers) are stored. @default "./data" */
  dataDir: string;
  /** Where topic definitions are stored. @default "./config" */
  configDir: string;
  /** Largest accepted request body; larger bodies get 413. @default 1048576 */
  maxBodyBytes: number;
  /** Most events in one `POST /events`. @default 10000 */
  maxBatchEvents: number;
  /** Most events in one read response; a larger `limit` is capped. @default 10000 */
  maxPageSize: number;
  /** A topic's segment file is closed once it holds this many bytes. @default 33554432 */
  segmentMaxBytes: number;
  /** How long an `Idempotency-Key` is remembered (at least). @default 24 */
  idempotencyTtlHours: number;
  /** Most events in one webhook delivery. @default 100 */
  deliveryBatchSize: number;
  /** Largest webhook body in bytes; a single larger event is still sent, alone. @default 1048576 */
  deliveryMaxBytes: number;
  /** Time limit of one webhook call. @default 30000 */
  deliveryTimeoutMs: number;
  /** Backoff base: the n-th retry waits a random time below `min(max, base * 2^(n-1))`. @default 1000 */
  consumerRetryBaseMs: number;
  /** Backoff cap. @default 60000 */
  consumerRetryMaxMs: number;
  /** Consecutive failed deliveries after which `onConsumerFailure` applies. @default 5 */
  consumerMaxAttempts: number;
  /** `remove` unregisters the failing consumer (as the spec says); `pause` keeps it and its cursor until resumed. @default "remove" */
  onConsumerFailure: ConsumerFailurePolicy;
  /**
   * Bearer tokens, any of which grants access (AUTH_TOKEN, comma-separated).
   * When non-empty, every route except `GET /health` answers 401 without one.
   * @default [] (no authentication)
   */
  authTokens: readonly string[];
  /**
   * `false` refuses callbacks whose host resolves to a loopback, private,
   * link-local or unique-local address, at registration and again before
   * every delivery. @default true
   */
  callbackAllowPrivate: boolean;
  /** Requests per minute per client address (bursts up to the same number); 0 turns the limit off. @default 0 */
  rateLimitPerMinute: number;
  /** Deepest nesting of arrays and objects in any JSON body or stored document; deeper: 400 NESTING_TOO_DEEP. @default 64 */
  maxJsonDepth: number;
  /** Largest topic document (name, schemas, dates) as stored; larger: 400 SCHEMA_TOO_LARGE. @default 262144 */
  maxSchemaBytes: number;
  /** A request body still arriving after this many ms gets 408 and its connection is closed. @default 30000 */
  bodyTimeoutMs: number;
  /**
   * Browser origins allowed to call the API (CORS_ORIGINS: `*` or a
   * comma-separated list such as `https://app.example,http://localhost:5173`).
   * @default [] (no CORS headers: browsers on other origins are refused)
   */
  corsOrigins: readonly string[];
  /** `false`: no `GET /metrics` and nothing counted. @default true */
  metricsEnabled: boolean;
  /** `true` serves `GET /metrics` without a token even when AUTH_TOKEN is set. @default false */
  metricsPublic: boolean;
  /**
   * Most topics, and most consumers, that get their own label value in
   * /metrics; the rest are counted under `_other`, so the number of series
   * stays bounded however many topics and consumers exist. @default 100
   */
  metricsMaxLabelled: number;
  /**
   * Cluster mode: the NATS servers (NATS_URL, comma-separated
   * `nats://host:port`). When set, events, topics and consumers live in
   * JetStream and EVENT_LOG is not used. @default [] (off)
   */
  natsUrls: readonly string[];
  /** Replicas of every stream and bucket the store creates (1 for a single nats-server). @default 3 */
  natsReplicas: number;
  /** Names every stream and bucket, so several stores can share one NATS. @default "event_store" */
  natsPrefix: string;
  /** Path of a NATS `.creds` file (JWT + nkey seed). @default "" (none) */
  natsCreds: string;
  /** NATS auth token. @default "" (none) */
  natsToken: string;
  /** Path of a PEM CA file to verify the NATS servers' TLS certificates. @default "" (system CAs, TLS only if the server asks) */
  natsTlsCa: string;
  /**
   * This node's name in `GET /health` and in `GET /consumers/{id}` (which
   * node delivers a consumer). @default "" (`<host name>:<PORT>`; with PORT=0 `<host name>-<pid>`)
   */
  nodeId: string;
  /**
   * Cluster mode: a consumer whose delivering node died is taken over by
   * another node within this many ms. @default 10000
   */
  clusterLeaseMs: number;
  /** @default "text" */
  logFormat: LogFormat;
  /** Messages below this level are dropped. @default "info" */
  logLevel: LogLevel;
}

export { ConfigError };

type Parser<T> = (raw: string, name: string) => T;

interface Setting<K extends keyof Config> {
  key: K;
  env: string;
  description: string;
  parse: Parser<Config[K]>;
  fallback: Config[K];
}

const integer =
  (min: number, max: number): Parser<number> =>
  (raw, name) => {
    if (!/^\d+$/.test(raw.trim())) {
      throw new ConfigError(`${name} must be an integer, got '${raw}'`);
    }
    const value = Number(raw.trim());
    if (value < min || value > max) {
      throw new ConfigError(`${name} must be between ${min} and ${max}, got ${value}`);
    }
    return value;
  };

const nonEmpty: Parser<string> = (raw, name) => {
  if (raw.trim() === "") throw new ConfigError(`${name} must not be empty`);
  return raw;
};

const oneOf =
  <T extends string>(...values: readonly T[]): Parser<T> =>
  (raw, name) => {
    const value = raw.trim();
    if (!(values as readonly string[]).includes(value)) {
      throw new ConfigError(`${name} must be one of ${values.join(", ")}, got '${raw}'`);
    }
    return value as T;
  };

const boolean: Parser<boolean> = (raw, name) => {
  const value = raw.trim().toLowerCase();
  if (value === "true" || value === "1") return true;
  if (value === "false" || value === "0") return false;
  throw new ConfigError(`${name} must be true or false, got '${raw}'`);
};

/** Tokens go into an HTTP header: visible ASCII, no commas (the separator), no spaces. */
const TOKEN = /^[\x21-\x2B\x2D-\x7E]+$/;

const tokenList: Parser<readonly string[]> = (raw, name) => {
  const tokens = raw.split(",").map((token) => token.trim()).filter((token) => token !== "");
  if (tokens.length === 0) throw new ConfigError(`${name} is set but holds no token; unset it to turn authentication off`);
  for (const token of tokens) {
    if (!TOKEN.test(token)) throw new ConfigError(`${name}: a token may hold only visible ASCII characters other than ','`);
  }
  return Object.freeze(tokens);
};

/** `*`, or origins as a browser sends them (`scheme://host[:port]`, no path): anything else could never match. */
const originList: Parser<readonly string[]> = (raw, name) => {
  const origins = raw.split(",").map((origin) => origin.trim()).filter((origin) => origin !== "");
  if (origins.length === 0) throw new ConfigError(`${name} is set but holds no origin; unset it to turn CORS off`);
  for (const origin of origins) {
    if (origin === "*") continue;
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = undefined;
    }
    if (parsed === undefined || parsed.origin !== origin) {
      throw new ConfigError(`${name}: '${origin}' is not an origin like https://app.example or http://localhost:5173`);
    }
  }
  return Object.freeze(origins);
};

const natsUrlList: Parser<readonly string[]> = (raw, name) => {
  const urls = raw.split(",").map((url) => url.trim()).filter((url) => url !== "");
  if (urls.length === 0) throw new ConfigError(`${name} is set but holds no URL; unset it to use EVENT_LOG`);
  for (const url of urls) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      parsed = undefined;
    }
    if (parsed === undefined || !["nats:", "tls:"].includes(parsed.protocol) || parsed.hostname === "" || parsed.pathname.replace(/^\/$/, "") !== "") {
      throw new ConfigError(`${name}: '${url}' is not a URL like nats://127.0.0.1:4222`);
    }
  }
  return Object.freeze(urls);
};

/** Stream and bucket names allow these (no dots, spaces or wildcards). */
const natsName: Parser<string> = (raw, name) => {
  const value = raw.trim();
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(value)) throw new ConfigError(`${name} must be 1 to 64 of A-Z a-z 0-9 _ -, got '${raw}'`);
  return value;
};

const anyString: Parser<string> = (raw) => raw.trim();

/** Printable, without spaces, so it reads well in logs and JSON. */
const nodeName: Parser<string> = (raw, name) => {
  const value = raw.trim();
  if (!/^[\x21-\x7e]{1,128}$/.test(value)) throw new ConfigError(`${name} must be 1 to 128 printable characters without spaces, got '${raw}'`);
  return value;
};

/** NODE_ID, or the host name and port when it is not set (PORT=0, a port not known yet: the host name and pid). */
export function nodeIdOf(config: Pick<Config, "nodeId" | "port">, hostName: string, pid = process.pid): string {
  if (config.nodeId !== "") return config.nodeId;
  return config.port === 0 ? `${hostName}-${pid}` : `${hostName}:${config.port}`;
}

function setting<K extends keyof Config>(s: Setting<K>): Setting<K> {
  return s;
}

/** Every setting, in the order `--help` lists them. */
export const SETTINGS = [
  setting({ key: "port", env: "PORT", description: "TCP port to listen on (0 = any free port)", parse: integer(0, 65535), fallback: DEFAULT_PORT }),
  setting({ key: "host", env: "HOST", description: "Interface to listen on", parse: nonEmpty, fallback: "0.0.0.0" }),
  setting({ key: "eventLog", env: "EVENT_LOG", description: "Backend: file, or memory (tests and demos: nothing survives a restart)", parse: oneOf<BackendKind>("file", "memory"), fallback: DEFAULT_EVENT_LOG }),
  setting({ key: "dataDir", env: "DATA_DIR", description: "Directory for events and consumers", parse: nonEmpty, fallback: DEFAULT_DATA_DIR }),
  setting({ key: "configDir", env: "CONFIG_DIR", description: "Directory for topic definitions", parse: nonEmpty, fallback: DEFAULT_CONFIG_DIR }),
  setting({ key: "maxBodyBytes", env: "MAX_BODY_BYTES", description: "Largest request body in bytes (larger: 413)", parse: integer(1024, 256 * 1024 * 1024), fallback: DEFAULT_MAX_BODY_BYTES }),
  setting({ key: "maxBatchEvents", env: "MAX_BATCH_EVENTS", description: "Most events in one POST /events", parse: integer(1, 1_000_000), fallback: DEFAULT_MAX_BATCH_EVENTS }),
  setting({ key: "maxPageSize", env: "MAX_PAGE_SIZE", description: "Most events in one read response", parse: integer(1, 1_000_000), fallback: DEFAULT_MAX_PAGE_SIZE }),
  setting({ key: "segmentMaxBytes", env: "SEGMENT_MAX_BYTES", description: "Size at which a segment file is closed", parse: integer(4096, 1024 * 1024 * 1024), fallback: DEFAULT_SEGMENT_MAX_BYTES }),
  setting({ key: "idempotencyTtlHours", env: "IDEMPOTENCY_TTL_HOURS", description: "Hours an Idempotency-Key is remembered", parse: integer(1, 24 * 365), fallback: DEFAULT_IDEMPOTENCY_TTL_HOURS }),
  setting({ key: "deliveryBatchSize", env: "DELIVERY_BATCH_SIZE", description: "Most events in one webhook delivery", parse: integer(1, 100_000), fallback: DEFAULT_DELIVERY_BATCH_SIZE }),
  setting({ key: "deliveryMaxBytes", env: "DELIVERY_MAX_BYTES", description: "Largest webhook body in bytes (a bigger single event goes alone)", parse: integer(1024, 256 * 1024 * 1024), fallback: DEFAULT_DELIVERY_MAX_BYTES }),
  setting({ key: "deliveryTimeoutMs", env: "DELIVERY_TIMEOUT_MS", description: "Time limit of one webhook call in ms", parse: integer(1, 3_600_000), fallback: DEFAULT_DELIVERY_TIMEOUT_MS }),
  setting({ key: "consumerRetryBaseMs", env: "CONSUMER_RETRY_BASE_MS", description: "Backoff base in ms (full jitter, doubling)", parse: integer(1, 3_600_000), fallback: DEFAULT_CONSUMER_RETRY_BASE_MS }),
  setting({ key: "consumerRetryMaxMs", env: "CONSUMER_RETRY_MAX_MS", description: "Backoff cap in ms", parse: integer(1, 86_400_000), fallback: DEFAULT_CONSUMER_RETRY_MAX_MS }),
  setting({ key: "consumerMaxAttempts", env: "CONSUMER_MAX_ATTEMPTS", description: "Consecutive failed deliveries before ON_CONSUMER_FAILURE applies", parse: integer(1, 1000), fallback: DEFAULT_CONSUMER_MAX_ATTEMPTS }),
  setting({ key: "onConsumerFailure", env: "ON_CONSUMER_FAILURE", description: "After the last failed attempt: remove or pause the consumer", parse: oneOf<ConsumerFailurePolicy>("remove", "pause"), fallback: DEFAULT_ON_CONSUMER_FAILURE }),
  setting({ key: "authTokens", env: "AUTH_TOKEN", description: "Bearer token(s), comma-separated; required on every route but GET /health (prefer the variable: flags show in ps)", parse: tokenList, fallback: Object.freeze([]) as readonly string[] }),
  setting({ key: "callbackAllowPrivate", env: "CALLBACK_ALLOW_PRIVATE", description: "false: refuse callbacks resolving to loopback/private/link-local addresses", parse: boolean, fallback: DEFAULT_CALLBACK_ALLOW_PRIVATE }),
  setting({ key: "rateLimitPerMinute", env: "RATE_LIMIT_PER_MINUTE", description: "Requests per minute per client address, 429 beyond (0 = off)", parse: integer(0, 1_000_000), fallback: DEFAULT_RATE_LIMIT_PER_MINUTE }),
  setting({ key: "maxJsonDepth", env: "MAX_JSON_DEPTH", description: "Deepest nesting in a JSON body or stored document (deeper: 400)", parse: integer(2, 10_000), fallback: DEFAULT_MAX_JSON_DEPTH }),
  setting({ key: "maxSchemaBytes", env: "MAX_SCHEMA_BYTES", description: "Largest stored topic document in bytes (larger: 400)", parse: integer(1024, 64 * 1024 * 1024), fallback: DEFAULT_MAX_SCHEMA_BYTES }),
  setting({ key: "bodyTimeoutMs", env: "BODY_TIMEOUT_MS", description: "Time for a request body to arrive in ms (later: 408)", parse: integer(100, 3_600_000), fallback: DEFAULT_BODY_TIMEOUT_MS }),
  setting({ key: "corsOrigins", env: "CORS_ORIGINS", description: "Browser origins allowed by CORS: * or a comma-separated list of origins", parse: originList, fallback: Object.freeze([]) as readonly string[] }),
  setting({ key: "metricsEnabled", env: "METRICS_ENABLED", description: "false: no GET /metrics and no counting", parse: boolean, fallback: DEFAULT_METRICS_ENABLED }),
  setting({ key: "metricsPublic", env: "METRICS_PUBLIC", description: "true: GET /metrics needs no token even with AUTH_TOKEN set", parse: boolean, fallback: DEFAULT_METRICS_PUBLIC }),
  setting({ key: "metricsMaxLabelled", env: "METRICS_MAX_LABELLED", description: "Most topics and consumers with their own label in /metrics (the rest: _other)", parse: integer(1, 100_000), fallback: DEFAULT_METRICS_MAX_LABELLED }),
  setting({ key: "natsUrls", env: "NATS_URL", description: "Cluster mode: NATS servers, comma-separated nats://host:port (events, topics, consumers in JetStream)", parse: natsUrlList, fallback: Object.freeze([]) as readonly string[] }),
  setting({ key: "natsReplicas", env: "NATS_REPLICAS", description: "Replicas of the store's JetStream streams and buckets (1 for one nats-server)", parse: integer(1, 5), fallback: DEFAULT_NATS_REPLICAS }),
  setting({ key: "natsPrefix", env: "NATS_PREFIX", description: "Prefix of every stream and bucket name (several stores can share one NATS)", parse: natsName, fallback: DEFAULT_NATS_PREFIX }),
  setting({ key: "natsCreds", env: "NATS_CREDS", description: "Path of a NATS .creds file", parse: anyString, fallback: "" }),
  setting({ key: "natsToken", env: "NATS_TOKEN", description: "NATS auth token (prefer the variable: flags show in ps)", parse: anyString, fallback: "" }),
  setting({ key: "natsTlsCa", env: "NATS_TLS_CA", description: "Path of a PEM CA file for the NATS servers' TLS", parse: anyString, fallback: "" }),
  setting({ key: "nodeId", env: "NODE_ID", description: "This node's name in /health and GET /consumers/{id} (default: <host name>:<PORT>)", parse: nodeName, fallback: "" }),
  setting({ key: "clusterLeaseMs", env: "CLUSTER_LEASE_MS", description: "Cluster mode: a dead node's consumers are taken over within this many ms", parse: integer(1_000, 3_600_000), fallback: DEFAULT_CLUSTER_LEASE_MS }),
  setting({ key: "logFormat", env: "LOG_FORMAT", description: "Log lines as text or json (one object per line)", parse: oneOf<LogFormat>("text", "json"), fallback: DEFAULT_LOG_FORMAT }),
  setting({ key: "logLevel", env: "LOG_LEVEL", description: "Least severe level logged: debug, info, warn or error", parse: oneOf<LogLevel>("debug", "info", "warn", "error"), fallback: DEFAULT_LOG_LEVEL }),
] as const;

/** `MAX_BODY_BYTES` → `--max-body-bytes`. */
export function flagName(env: string): string {
  return `--${env.toLowerCase().replaceAll("_", "-")}`;
}

/** Defaults for every setting; tests and the testing kit override what they need. */
export function defaultConfig(): Config {
  const config = {} as Record<string, unknown>;
  for (const s of SETTINGS) config[s.key] = s.fallback;
  return config as unknown as Config;
}

/**
 * Builds the configuration from the environment and CLI flags
 * (`--port 9000` or `--port=9000`). Throws `ConfigError` with a message
 * naming the setting on the first bad or unknown value.
 */
export function loadConfig(
  env: Record<string, string | undefined>,
  args: readonly string[] | ReadonlyMap<string, string> = [],
): Config {
  const flags = new Map(Array.isArray(args) ? parseFlags(args as readonly string[]) : (args as ReadonlyMap<string, string>));
  const config = defaultConfig() as unknown as Record<string, unknown>;
  for (const s of SETTINGS) {
    const flag = flagName(s.env);
    const fromFlag = flags.get(flag);
    flags.delete(flag);
    const raw = fromFlag ?? env[s.env];
    if (raw !== undefined) config[s.key] = s.parse(raw, fromFlag === undefined ? s.env : flag);
  }
  const unknown = [...flags.keys()][0];
  if (unknown !== undefined) throw new ConfigError(`unknown option ${unknown} (see --help)`);
  return config as unknown as Config;
}

/**
 * Declares one commander option per setting on `command`, so every row of
 * SETTINGS is a flag (and shows in its help and completion). The value is
 * declared optional only so that a missing one reaches `settingFlags` and
 * gets this module's message; help shows it as `<value>`.
 */
export function addSettingOptions(command: Command): Command {
  for (const s of SETTINGS) command.addOption(new Option(`${flagName(s.env)} [value]`, `${s.description} (env ${s.env}, default: ${shownDefault(s.fallback)})`));
  return command.allowUnknownOption().allowExcessArguments();
}

/** The setting flags a command built by `addSettingOptions` parsed, by flag name. @throws ConfigError */
export function settingFlags(command: Command): Map<string, string> {
  const stray = command.args[0];
  if (stray !== undefined) {
    throw new ConfigError(stray.startsWith("-") ? `unknown option ${stray.split("=")[0]} (see --help)` : `unexpected argument '${stray}' (see --help)`);
  }
  const values = command.opts() as Record<string, string | true | undefined>;
  const flags = new Map<string, string>();
  for (const option of command.options) {
    const value = values[option.attributeName()];
    if (value === undefined || option.long === undefined || !SETTING_FLAGS.has(option.long)) continue;
    if (value === true) throw new ConfigError(`option ${option.long} needs a value`);
    flags.set(option.long, value);
  }
  return flags;
}

const SETTING_FLAGS = new Set<string>(SETTINGS.map((s) => flagName(s.env)));

function parseFlags(args: readonly string[]): Map<string, string> {
  const command = addSettingOptions(new Command("event-store").exitOverride().helpOption(false));
  command.parse(args as string[], { from: "user" });
  return settingFlags(command);
}

/** The `--help` text, generated from SETTINGS so flags and docs never drift. */
export function helpText(): string {
  return ["Usage: event-store [options]", "", settingsHelp("Every option can also be set by the environment variable shown; a flag wins.")].join("\n");
}

/** One line per setting (flag, variable, description, default) under `title`. */
export function settingsHelp(title: string): string {
  const flagWidth = Math.max(...SETTINGS.map((s) => flagName(s.env).length)) + " <value>".length;
  const envWidth = Math.max(...SETTINGS.map((s) => s.env.length));
  const rows = SETTINGS.map(
    (s) => `  ${(flagName(s.env) + " <value>").padEnd(flagWidth)} ${s.env.padEnd(envWidth)} ${s.description} (default: ${shownDefault(s.fallback)})`,
  );
  return [title, "", ...rows].join("\n");
}

function shownDefault(value: unknown): string {
  if (Array.isArray(value)) return value.length === 0 ? "none" : value.join(",");
  return String(value);
}
