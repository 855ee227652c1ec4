import { TOPIC } from "./fixture.ts";

/** The bench topic's last sequence, from GET /topics/:topic. */
export async function topicHead(url: string): Promise<number> {
  const res = await fetch(`${url}/topics/${TOPIC}`);
  const body = (await res.json()) as { sequence?: number };
  if (res.status !== 200 || typeof body.sequence !== "number") throw new Error(`GET /topics/${TOPIC} answered ${res.status}`);
  return body.sequence;
}
