import type { FastifyInstance } from 'fastify';
import { notFound, validationFailed } from '../../errors.js';
import { consistency, inclusion, latestCheckpoint, leafHashes, LogRangeError } from '../../transparency/log.js';
import { answer, problem } from '../openapi.js';

/** The most leaves one GET /v1/transparency/leaves answers. */
export const MAX_LEAVES = 1000;

// Sizes and indexes are integers a JavaScript number holds exactly (a log will not outgrow 2^53 leaves).
const index = (description: string) => ({ type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description });
const query = (props: Record<string, unknown>) => ({ type: 'object', additionalProperties: false, required: Object.keys(props), properties: props });
const text = (description: string) => ({ description, content: { 'text/plain': { schema: { type: 'string' } } } });

/** A range the log cannot answer is the caller's: 400 naming the query parameter. */
async function inRange<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof LogRangeError) throw validationFailed([{ path: `query/${err.field}`, message: err.message }]);
    throw err;
  }
}

/** The transparency log's public routes (SPEC §7): no token; anyone may check the log. */
export default async function transparencyRoutes(app: FastifyInstance) {
  const tags = ['transparency'];
  app.get(
    '/v1/transparency/checkpoint',
    {
      schema: {
        tags,
        operationId: 'getCheckpoint',
        summary: 'The latest signed checkpoint (a C2SP tlog-checkpoint signed note)',
        response: {
          200: text('The checkpoint: origin, tree size, base64 root hash, a blank line, then the signature lines'),
          404: problem(404, 'No checkpoint signed yet (the sequencer signs the first soon after start)'),
        },
      },
    },
    async (_request, reply) => {
      const cp = await latestCheckpoint(app.db);
      if (!cp) throw notFound('checkpoint (none signed yet: the sequencer signs the first within SEQUENCER_INTERVAL_MS of start)');
      return reply.type('text/plain; charset=utf-8').header('cache-control', 'no-cache').send(cp.note);
    },
  );
  app.get(
    '/v1/transparency/key',
    { schema: { tags, operationId: 'getLogKey', summary: 'The log’s verifier keys (C2SP vkey), the signing one first', response: { 200: text('One verifier key per line: the key signing now first, then the earlier ones') } } },
    async (_request, reply) => reply.type('text/plain; charset=utf-8').send(`${app.transparency.keys.vkeys.join('\n')}\n`),
  );
  app.get(
    '/v1/transparency/proofs/inclusion',
    {
      schema: {
        tags,
        operationId: 'getInclusionProof',
        summary: 'The audit path of a leaf in a tree of a given size',
        querystring: query({ leaf_index: index('The leaf (an audit event’s log_index)'), tree_size: index('The size of the tree, e.g. a checkpoint’s') }),
        response: { 200: answer('The leaf hash and its audit path', 'responses/inclusion-proof.json') },
      },
    },
    async (request) => {
      const q = request.query as { leaf_index: number; tree_size: number };
      const p = await inRange(() => inclusion(app.db, q.leaf_index, q.tree_size));
      return { leaf_index: q.leaf_index, tree_size: q.tree_size, leaf_hash: p.leaf_hash.toString('base64'), proof: p.proof.map((h) => h.toString('base64')) };
    },
  );
  app.get(
    '/v1/transparency/proofs/consistency',
    {
      schema: {
        tags,
        operationId: 'getConsistencyProof',
        summary: 'The proof that a larger tree extends a smaller one',
        querystring: query({ from: index('The smaller tree’s size'), to: index('The larger tree’s size') }),
        response: { 200: answer('The consistency proof', 'responses/consistency-proof.json') },
      },
    },
    async (request) => {
      const q = request.query as { from: number; to: number };
      const proof = await inRange(() => consistency(app.db, q.from, q.to));
      return { from: q.from, to: q.to, proof: proof.map((h) => h.toString('base64')) };
    },
  );
  app.get(
    '/v1/transparency/leaves',
    {
      schema: {
        tags,
        operationId: 'listLogLeaves',
        summary: `The leaf hashes of leaves [start, end), at most ${MAX_LEAVES}`,
        querystring: query({ start: index('The first leaf'), end: index(`One past the last leaf; at most start + ${MAX_LEAVES}`) }),
        response: { 200: answer('The leaf hashes, in order', 'responses/log-leaves.json') },
      },
    },
    async (request) => {
      const q = request.query as { start: number; end: number };
      if (q.end - q.start > MAX_LEAVES) throw validationFailed([{ path: 'query/end', message: `at most ${MAX_LEAVES} leaves at once: end ≤ start + ${MAX_LEAVES}` }]);
      const hashes = await inRange(() => leafHashes(app.db, q.start, q.end));
      return { start: q.start, end: q.end, leaf_hashes: hashes.map((h) => h.toString('base64')) };
    },
  );
}
