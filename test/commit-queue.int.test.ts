import { describe, expect, test } from "bun:test";
import type { AppendEvent } from "../src/log/event-log.ts";
import { FileEventLog } from "../src/log/file-event-log.ts";
import { isValidTopicName } from "../src/topics/topic-name.ts";
import { tempDir } from "./utils.ts";

const batch = (topic: string, n: number): AppendEvent[] => [{ topic, type: "e", payloadJson: JSON.stringify({ n }) }];

describe("the commit queue cannot wedge", () => {
  test("a commit listener that throws is reported and isolated: its append resolves, later appends go on, other listeners still hear", async () => {
    using dir = tempDir();
    const reports: string[] = [];
    const log = await FileEventLog.open({ dataDir: dir.path, isTopicName: isValidTopicName, report: (m) => reports.push(m) });
    const heard: [string, number][] = [];
    log.onCommit(() => {
      throw new Error("listener bug");
    });
    log.onCommit((topic, head) => heard.push([topic, head]));

    expect(await log.append(batch("t", 1))).toEqual(["t-1"]);
    const later = await Promise.all([log.append(batch("t", 2)), log.append(batch("u", 3)), log.append(batch("t", 4))]);
    expect(later).toEqual([["t-2"], ["u-1"], ["t-3"]]);
    expect(heard.filter(([topic]) => topic === "t").at(-1)).toEqual(["t", 3]);
    expect(heard.filter(([topic]) => topic === "u")).toEqual([["u", 1]]);
    expect(reports.length).toBeGreaterThanOrEqual(2);
    expect(reports.every((m) => m.startsWith("log: a commit listener failed: Error: listener bug"))).toBe(true);
    expect(log.read("t", { after: 0, limit: 10 }).lastSequence).toBe(3);
    await log.close();
  });

  test("a close after a throwing listener finishes instead of waiting for a flush that never ends", async () => {
    using dir = tempDir();
    const log = await FileEventLog.open({ dataDir: dir.path, isTopicName: isValidTopicName, report: () => {} });
    log.onCommit(() => {
      throw new TypeError("boom");
    });
    await log.append(batch("t", 1));
    await log.close();
    const reopened = await FileEventLog.open({ dataDir: dir.path, isTopicName: isValidTopicName, report: () => {} });
    expect(reopened.head("t")).toBe(1);
    await reopened.close();
  });
});
