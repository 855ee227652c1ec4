import { eventTimestamp } from "../events/event-json.ts";
import type { EventLog } from "../store/event-log.ts";
import type { TopicProgress } from "./consumer-model.ts";

/**
 * Where one subscription stands: the topic's head, its cursor, the events
 * between them, and how long the oldest of those has waited. The age needs
 * one indexed read of one event, so the cost does not grow with the lag.
 */
export async function topicProgress(log: EventLog, topic: string, cursor: number, nowMs: number): Promise<TopicProgress> {
  const head = await log.head(topic);
  const lag = Math.max(0, head - cursor);
  let oldestPendingAt: string | null = null;
  let lagSeconds = 0;
  if (lag > 0) {
    const [event] = (await log.read(topic, { after: cursor, limit: 1 })).events;
    oldestPendingAt = event === undefined ? null : eventTimestamp(event);
    if (oldestPendingAt !== null) lagSeconds = Math.max(0, (nowMs - Date.parse(oldestPendingAt)) / 1000);
  }
  return { head, cursor, lag, oldestPendingAt, lagSeconds };
}
