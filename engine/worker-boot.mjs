// Boots a TypeScript worker entry under tsx (Node 20 cannot load .ts in workers by itself).
import { workerData } from 'node:worker_threads';
import { tsImport } from 'tsx/esm/api';

await tsImport(workerData.entry, import.meta.url);
