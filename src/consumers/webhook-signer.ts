import { createHash, createHmac, randomBytes } from "node:crypto";

/**
 * Standard Webhooks (https://www.standardwebhooks.com) signing: secrets are
 * `whsec_<base64 key>`, and `webhook-signature` is `v1,<base64 HMAC-SHA256>`
 * of `{webhook-id}.{webhook-timestamp}.{body}` under the decoded key.
 */
const SECRET_PREFIX = "whsec_";
const MIN_KEY_BYTES = 24;
const MAX_KEY_BYTES = 64;
/** Generated keys: 32 bytes, the size of the HMAC-SHA256 block output. */
const GENERATED_KEY_BYTES = 32;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A fresh `whsec_…` secret. */
export function generateSecret(): string {
  return SECRET_PREFIX + randomBytes(GENERATED_KEY_BYTES).toString("base64");
}

/** The HMAC key of a `whsec_…` secret, or null unless it is canonical base64 of 24–64 bytes. */
export function secretKey(secret: string): Buffer | null {
  if (!secret.startsWith(SECRET_PREFIX)) return null;
  const encoded = secret.slice(SECRET_PREFIX.length);
  if (!BASE64.test(encoded)) return null;
  const key = Buffer.from(encoded, "base64");
  return key.length >= MIN_KEY_BYTES && key.length <= MAX_KEY_BYTES ? key : null;
}

export interface SignedHeaders {
  "webhook-id": string;
  "webhook-timestamp": string;
  "webhook-signature": string;
}

/** The three Standard Webhooks headers for one attempt of one message. */
export function signWebhook(key: Uint8Array, messageId: string, timestampSeconds: number, body: Uint8Array): SignedHeaders {
  const signature = createHmac("sha256", key).update(`${messageId}.${timestampSeconds}.`).update(body).digest("base64");
  return {
    "webhook-id": messageId,
    "webhook-timestamp": String(timestampSeconds),
    "webhook-signature": `v1,${signature}`,
  };
}

/**
 * The `webhook-id` of a batch: derived from what the batch is (consumer,
 * topic, event range), so every retry of it — even after a restart — carries
 * the same id and a receiver can deduplicate on it.
 */
export function batchMessageId(consumerId: string, topic: string, firstSequence: number, lastSequence: number): string {
  const digest = createHash("sha256").update(`${consumerId}\n${topic}\n${firstSequence}\n${lastSequence}`).digest("base64url");
  return `msg_${digest.slice(0, 27)}`;
}
