/** The thread of a {@link BareUpsertThread}: holds the states and upserts them on request. */
import { parentPort, workerData } from 'node:worker_threads';
import postgres from 'postgres';
import { bareUpsert, type BareUpsertThreadData } from './bare-upsert.js';

const data = workerData as BareUpsertThreadData;
const sql = postgres(data.url, { max: 1, onnotice: () => undefined });
const port = parentPort!;

port.on('message', async (m: { ready?: true; version?: number }) => {
  try {
    if (m.ready === true) {
      await sql`select 1`;
      port.postMessage({ seconds: 0 });
    } else if (m.version === -1) {
      await sql.end();
      port.postMessage({ seconds: 0 });
    } else port.postMessage({ seconds: await bareUpsert(sql, data.states, m.version!, data.table) });
  } catch (err) {
    port.postMessage({ error: String(err) });
  }
});
