// Starts a thread of verifyAudit's pool (verify-thread.ts). Plain JavaScript that loads the
// TypeScript through tsx's API, because a worker thread does not inherit tsx's loader on every Node
// version (on Node 20 tsx registers itself in the main thread only).
import { tsImport } from 'tsx/esm/api';

await tsImport('./verify-thread.ts', import.meta.url);
