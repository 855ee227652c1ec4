import { FileEventLog } from "../src/log/file-event-log.ts";
import { NodeLogStorage } from "../src/log/storage.ts";
import { mkdtempSync } from "node:fs";
class NoSync extends NodeLogStorage { override sync() { return Promise.resolve(); } }
const dir = mkdtempSync("/tmp/lg-");
const log = await FileEventLog.open({ dataDir: dir, storage: new NoSync(), isTopicName: () => true });
let n = 0;
const G = Number(process.env.G ?? 32);
async function round() {
  const ps = [];
  for (let i = 0; i < G; i++) { n++; ps.push(log.append([{ topic: "bench", type: "e", payloadJson: `{"id":"${n}","name":"bench user","n":${n}}` }])); }
  await Promise.all(ps);
}
for (let i = 0; i < 2000; i++) await round();
for (let r = 0; r < 3; r++) {
  const t = performance.now(); let k = 0;
  while (performance.now() - t < 1500) { await round(); k++; }
  console.log(`G=${G}: ${((performance.now() - t) * 1000 / (k * G)).toFixed(2)} µs per batch`);
}
await log.close();
