import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';

type RouteSchema = { schema: unknown; method: string; url: string; httpStatus: string; contentType?: string };
type Serializer = (data: unknown) => string;

/**
 * Fastify's serializer factory (fast-json-stringify, as by default), with each distinct response
 * schema compiled once: every route documents the same Problem answer for each status it can
 * refuse with, and the three case kinds the same case answers, so the default compiled the same
 * schema several hundred times at start-up (about 1.4 s of a 6.6 s start on the embedded database).
 * Schemas are told apart by their JSON; the shared schemas they refer to are the same for every route.
 * Each is compiled when it first serialises an answer, not at start-up: a process answers with a
 * few of the several hundred (a start, and each test's app, paid ~0.2 s of CPU compiling them all).
 */
export function cachingSerializerFactory() {
  const build = SerializerSelector();
  return (externalSchemas: unknown, serializerOpts: unknown) => {
    const compile = build(externalSchemas as never, serializerOpts as never) as unknown as (route: RouteSchema) => Serializer;
    const cache = new Map<string, Serializer>();
    return (route: RouteSchema): Serializer => {
      const key = JSON.stringify(route.schema);
      let fn = cache.get(key);
      if (!fn) {
        let compiled: Serializer | undefined;
        cache.set(key, (fn = (data) => (compiled ??= compile(route))(data)));
      }
      return fn;
    };
  };
}
