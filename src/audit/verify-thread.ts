// A thread of verifyAudit's pool (verify.ts): reads each range of cases it is sent on connections
// of its own, verifies it, and answers by the range's id. Started through verify-worker.mjs.
import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase } from '../db/index.js';
import { countOf, noResult, readCaseBatch, verifyBatch, type CaseRange } from './verify.js';

const port = parentPort!;
// Two connections: the next range is read while this one is verified.
const database = await openDatabase({ databaseUrl: (workerData as { databaseUrl: string }).databaseUrl, dataDir: '', poolSize: 2 });

port.on('message', async (m: { close?: true; id: number; range: CaseRange; readOnly: boolean }) => {
  if (m.close) {
    await database.close();
    port.close();
    return;
  }
  try {
    const batch = await readCaseBatch(database.db, m.range);
    port.postMessage({ id: m.id, result: !batch ? noResult() : m.readOnly ? countOf(batch) : verifyBatch(batch) });
  } catch (err) {
    port.postMessage({ id: m.id, error: err instanceof Error ? err.message : String(err) });
  }
});
