import { createMemoryBackend, MemoryData } from "../src/backends/memory/memory-backend.ts";
import { storeContract } from "./store-contract.ts";

let data = new MemoryData();

// Not durable across processes, but a backend opened again over the same MemoryData is a restart.
storeContract("memory", {
  async open(clock) {
    data = new MemoryData();
    return createMemoryBackend({ data, ...(clock ? { clock } : {}) });
  },
  reopen: async (clock) => createMemoryBackend({ data, ...(clock ? { clock } : {}) }),
  secondWriter: async () => createMemoryBackend({ data }),
});
