import { afterAll, beforeAll, describe } from "bun:test";
import { openNatsBackend } from "../src/backends/nats/nats-backend.ts";
import { startNats, requireNatsServer, type NatsCluster } from "./nats-server.ts";
import { storeContract } from "./store-contract.ts";

// Real nats-servers (no mocks): the suite on one server at R1 and on a 3-node cluster at R3.
const available = requireNatsServer();

for (const size of [1, 3] as const) {
  describe.skipIf(!available)(`nats R${size}`, () => {
    let nats: NatsCluster;
    let prefix = "";
    let n = 0;
    beforeAll(async () => {
      nats = await startNats(size);
    }, 60_000);
    afterAll(() => nats?.stop());
    // Each test its own prefix (own stream and buckets) on the shared servers; a reopen or second writer uses the same one.
    const open = (clock?: () => number) => openNatsBackend({ servers: nats.urls, replicas: size, prefix, ...(clock ? { clock } : {}) });
    storeContract(`nats R${size}`, {
      open(clock) {
        prefix = `contract_${size}_${++n}`;
        return open(clock);
      },
      reopen: (clock) => open(clock),
      secondWriter: () => open(),
    });
  });
}
