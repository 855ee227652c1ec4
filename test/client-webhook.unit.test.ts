import { createHmac, randomBytes } from "node:crypto";
import { describe, expect, test } from "bun:test";
import { WebhookVerificationError, signWebhook, verifyWebhook } from "../client/index.ts";
import { rejection } from "./utils.ts";

const key = randomBytes(32);
const secret = `whsec_${key.toString("base64")}`;
const otherSecret = `whsec_${randomBytes(32).toString("base64")}`;
const id = "msg_2f1c";
const timestamp = 1_736_937_000; // 2025-01-15T10:30:00Z
const now = new Date(timestamp * 1000);
const body = JSON.stringify({
  consumerId: "c-1",
  events: [{ id: "users-1", timestamp: "2025-01-15T10:30:00.000Z", type: "user.created", payload: { id: "1" } }],
});

/** The signature computed independently of the client, with node:crypto. */
function nodeSignature(content: string, hmacKey: Buffer = key): string {
  return `v1,${createHmac("sha256", hmacKey).update(content).digest("base64")}`;
}

function headersFor(signature: string, ts: number = timestamp): Record<string, string> {
  return { "webhook-id": id, "webhook-timestamp": String(ts), "webhook-signature": signature };
}

async function expectRejected(promise: Promise<unknown>, code: string): Promise<void> {
  const error = await rejection(promise);
  expect(error).toBeInstanceOf(WebhookVerificationError);
  expect(error).toMatchObject({ name: "WebhookVerificationError", code });
}

describe("verifyWebhook", () => {
  test("accepts a signature computed with node:crypto createHmac, from Headers", async () => {
    const headers = new Headers(headersFor(nodeSignature(`${id}.${timestamp}.${body}`)));
    expect(await verifyWebhook(secret, headers, body, { now })).toBe(true);
  });

  test("reads a plain record case-insensitively and accepts a Uint8Array body", async () => {
    const headers = {
      "Webhook-Id": id,
      "WEBHOOK-TIMESTAMP": String(timestamp),
      "webhook-Signature": nodeSignature(`${id}.${timestamp}.${body}`),
    };
    expect(await verifyWebhook(secret, headers, new TextEncoder().encode(body), { now })).toBe(true);
  });

  test("accepts when any of several space-separated signatures matches", async () => {
    const good = nodeSignature(`${id}.${timestamp}.${body}`);
    const signature = `v1,${Buffer.alloc(32).toString("base64")} v2,whatever v1,%%% ${good}`;
    expect(await verifyWebhook(secret, headersFor(signature), body, { now })).toBe(true);
  });

  test("accepts a timestamp within the tolerance, either side", async () => {
    for (const ts of [timestamp - 300, timestamp + 300]) {
      const headers = headersFor(nodeSignature(`${id}.${ts}.${body}`), ts);
      expect(await verifyWebhook(secret, headers, body, { now })).toBe(true);
    }
  });

  test("rejects a tampered body", async () => {
    const headers = headersFor(nodeSignature(`${id}.${timestamp}.${body}`));
    await expectRejected(verifyWebhook(secret, headers, body.replace("users-1", "users-2"), { now }), "INVALID_SIGNATURE");
  });

  test("rejects a wrong secret", async () => {
    const headers = headersFor(nodeSignature(`${id}.${timestamp}.${body}`));
    await expectRejected(verifyWebhook(otherSecret, headers, body, { now }), "INVALID_SIGNATURE");
  });

  test("rejects a signature over another webhook-id", async () => {
    const headers = headersFor(nodeSignature(`msg_other.${timestamp}.${body}`));
    await expectRejected(verifyWebhook(secret, headers, body, { now }), "INVALID_SIGNATURE");
  });

  test("rejects a stale or future timestamp, even when correctly signed", async () => {
    for (const ts of [timestamp - 301, timestamp + 301]) {
      const headers = headersFor(nodeSignature(`${id}.${ts}.${body}`), ts);
      await expectRejected(verifyWebhook(secret, headers, body, { now }), "TIMESTAMP_OUT_OF_RANGE");
    }
    const stale = headersFor(nodeSignature(`${id}.${timestamp - 60}.${body}`), timestamp - 60);
    await expectRejected(verifyWebhook(secret, stale, body, { now, toleranceSeconds: 30 }), "TIMESTAMP_OUT_OF_RANGE");
  });

  test("uses the current time by default", async () => {
    const ts = Math.floor(Date.now() / 1000);
    const headers = headersFor(nodeSignature(`${id}.${ts}.${body}`), ts);
    expect(await verifyWebhook(secret, headers, body)).toBe(true);
    await expectRejected(
      verifyWebhook(secret, headersFor(nodeSignature(`${id}.${timestamp}.${body}`)), body),
      "TIMESTAMP_OUT_OF_RANGE",
    );
  });

  test("rejects missing or malformed headers", async () => {
    const full = headersFor(nodeSignature(`${id}.${timestamp}.${body}`));
    for (const name of ["webhook-id", "webhook-timestamp", "webhook-signature"]) {
      const headers = { ...full };
      delete headers[name];
      await expectRejected(verifyWebhook(secret, headers, body, { now }), "MISSING_HEADERS");
    }
    await expectRejected(
      verifyWebhook(secret, { ...full, "webhook-timestamp": "soon" }, body, { now }),
      "MISSING_HEADERS",
    );
  });

  test("throws a TypeError for a secret that is not base64", async () => {
    const headers = headersFor(nodeSignature(`${id}.${timestamp}.${body}`));
    const error = await rejection(verifyWebhook("whsec_!!!", headers, body, { now }));
    expect(error).toBeInstanceOf(TypeError);
  });
});

describe("signWebhook", () => {
  test("produces the node:crypto signature, as a header value", async () => {
    expect(await signWebhook(secret, id, timestamp, body)).toBe(nodeSignature(`${id}.${timestamp}.${body}`));
  });

  test("round-trips through verifyWebhook", async () => {
    const signature = await signWebhook(secret, id, timestamp, body);
    expect(await verifyWebhook(secret, headersFor(signature), body, { now })).toBe(true);
  });
});
