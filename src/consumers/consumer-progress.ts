import type { EventLog } from "../log/event-log.ts";
import type { TopicProgress } from "./consumer-model.ts";

// Stored lines begin `{"id":"<topic>-<n>","timestamp":"<ISO>",…` (see log/group-builder.ts), so
// the timestamp sits within the first bytes: topic names are at most 128 characters.
const HEAD_BYTES = 256;
const TIMESTAMP = /"timestamp":"([^"]+)"/;
const decoder = new TextDecoder();

/**
 * Where one subscription stands: the topic's head, its cursor, the events
 * between them, and how long the oldest of those has waited. The age needs
 * one indexed read of one event, so the cost does not grow with the lag.
 */
export function topicProgress(log: EventLog, topic: string, cursor: number, nowMs: number): TopicProgress {
  const head = log.head(topic);
  const lag = Math.max(0, head - cursor);
  let oldestPendingAt: string | null = null;
  let lagSeconds = 0;
  if (lag > 0) {
    const [line] = log.read(topic, { after: cursor, limit: 1 }).lines;
    const match = line === undefined ? null : TIMESTAMP.exec(decoder.decode(line.subarray(0, HEAD_BYTES)));
    if (match) {
      oldestPendingAt = match[1]!;
      lagSeconds = Math.max(0, (nowMs - Date.parse(oldestPendingAt)) / 1000);
    }
  }
  return { head, cursor, lag, oldestPendingAt, lagSeconds };
}
