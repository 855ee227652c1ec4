/**
 * A commit marker closes the lines one group commit appended to one topic's
 * segment. It is a JSON line, but not an event: readers never see it.
 *
 *   {"$commit":<group>,"heads":{"<topic>":<head>,…},"crc":<crc32>}
 *
 * `group` numbers group commits in order; `heads` lists, for every topic the
 * group touched, that topic's last sequence after the group, so recovery can
 * tell whether a group reached every topic it wrote to; `crc` is the CRC-32 of
 * this topic's event lines of the group, so a marker that reached the disk
 * ahead of the lines it closes is not trusted.
 */
export interface CommitMarker {
  group: number;
  heads: Record<string, number>;
  crc: number;
}

export const MARKER_PREFIX = '{"$commit":';

export function formatCommitMarker(marker: CommitMarker): string {
  return `{"$commit":${marker.group},"heads":${JSON.stringify(marker.heads)},"crc":${marker.crc}}\n`;
}

export function parseCommitMarker(line: string): CommitMarker | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null; // a torn or garbled marker is simply not a commit
  }
  if (typeof value !== "object" || value === null) return null;
  const { $commit: group, heads, crc } = value as Record<string, unknown>;
  if (!Number.isSafeInteger(group) || !Number.isSafeInteger(crc)) return null;
  if (typeof heads !== "object" || heads === null) return null;
  for (const head of Object.values(heads)) if (!Number.isSafeInteger(head)) return null;
  return { group: group as number, heads: heads as Record<string, number>, crc: crc as number };
}
