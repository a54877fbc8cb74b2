// The original Go service's routes, exactly as its design has them (field names, top_k absent or <= 0 meaning 5 —
// a Go client's unset int is sent as 0 —, stats wrapped in {stats, timestamp} with snake_case keys, the design's log
// fields); our additions are extra fields only. A top_k that is not a safe integer is a 400.
import type { FastifyRequest } from 'fastify';
import type { SearchMode, ServiceStats } from '../service/service.js';
import { HttpError, PLAIN_ERRORS, type HttpApi, type RouteContext } from './api.js';
import { callOf, encodingFormat, floatEncoding, modelField, sendJson, serviceFor, textSchema, topKField, vectorsJson } from './shared.js';

const method = { type: 'string', enum: ['fastembed_cosine', 'jaccard_fallback', 'bm25', 'hybrid', 'bm25_fallback'] } as const;
export const originalErrorBody = {
  type: 'object',
  required: ['error', 'message', 'statusCode'],
  properties: { error: { type: 'string' }, message: { type: 'string' }, statusCode: { type: 'integer' } },
} as const;

const DEFAULT_TOP_K = 5;

interface ComputeBody {
  text1: string;
  text2: string;
  model?: string;
}
interface SearchBody {
  query: string;
  documents: string[];
  top_k?: number;
  model?: string;
  mode?: SearchMode;
  rrf_k?: number;
  alpha?: number;
}
interface EmbeddingsBody {
  texts: string[];
  encoding: 'float' | 'base64';
  model?: string;
}

/** A similarity as the design's clients expect it: within [-1, 1] (float rounding can give 1.0000001). */
// The design's similarities are cosines in [-1, 1]; BM25 scores (mode 'lexical') are unbounded and kept as they are.
const clamp = (x: number) => Math.min(1, Math.max(-1, x));

/** camelCase keys → snake_case, deeply (the design's stats are snake_case). */
function snake(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snake);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), snake(v)]));
}

/** The design's stats keys (cache_size, pool_size, model, initialized) first, then everything we count. */
function designStats(s: ServiceStats): object {
  return {
    cache_size: s.cache.size,
    pool_size: s.poolSize,
    model: s.model,
    initialized: s.initialized,
    total_requests: s.requests,
    fallback_used: s.fallbackCount,
    cache_hit_rate: s.cache.hitRate,
    error_rate: s.requests > 0 ? s.errors / s.requests : 0,
    ...(snake(s) as object),
  };
}

/** The design's log fields (component, method, durations in whole ms, timestamp) on every API log line. */
function logLine(req: FastifyRequest, fields: Record<string, unknown>, message: string): void {
  req.log.info({ component: 'fastembed', ...fields, timestamp: new Date().toISOString() }, message);
}

export function originalApi(ctx: RouteContext): HttpApi {
  const { models, limits } = ctx;
  const text = textSchema(limits);
  const match = {
    type: 'object',
    required: ['content', 'similarity', 'method'],
    properties: {
      content: { type: 'string' },
      similarity: { type: 'number' },
      method,
      index: { type: 'integer' },
      model: { type: 'string' },
      dimension: { type: 'integer' },
      scores: { type: 'object', properties: { dense: { type: 'number' }, lexical: { type: 'number' } } },
    },
  } as const;
  return {
    name: 'original',
    ...PLAIN_ERRORS,
    routes: [
      {
        method: 'POST',
        url: '/api/similarity/compute',
        apiMethod: 'compute',
        work: true,
        clientData: true,
        schema: {
          summary: 'Similarity of two texts',
          body: { type: 'object', required: ['text1', 'text2'], additionalProperties: false, properties: { text1: text, text2: text, model: modelField } },
          response: {
            200: {
              type: 'object',
              required: ['text1', 'text2', 'similarity', 'method', 'timestamp'],
              properties: {
                text1: { type: 'string' },
                text2: { type: 'string' },
                similarity: { type: 'number', minimum: -1, maximum: 1 },
                method,
                model: { type: 'string' },
                dimension: { type: 'integer' },
                timestamp: { type: 'string', format: 'date-time' },
              },
            },
            400: originalErrorBody,
          },
        },
        async handler(req) {
          const t0 = performance.now();
          const { text1, text2, model } = req.body as ComputeBody;
          const result = await serviceFor(req, models, model).computeSimilarity(text1, text2, callOf(req));
          const similarity = clamp(result.similarity);
          logLine(req, { method: result.method, text1_len: text1.length, text2_len: text2.length, similarity, duration_ms: Math.round(performance.now() - t0) }, 'similarity computation completed');
          return { text1, text2, ...result, similarity, timestamp: new Date().toISOString() };
        },
      },
      {
        method: 'POST',
        url: '/api/similarity/search',
        apiMethod: 'search',
        work: true,
        clientData: true,
        schema: {
          summary:
            "The top_k documents most similar to the query, best first (top_k absent, 0 or negative: 5; more than the documents: all of them). mode: 'dense' (cosine, the default), 'lexical' (BM25: the documents sharing a term, similarity the BM25 score) or 'hybrid' (both: alpha × dense + (1 − alpha) × BM25, scores min-max normalised, alpha 0.7 by default; or Reciprocal Rank Fusion with rrf_k; results carry scores.dense and scores.lexical)",
          body: {
            type: 'object',
            required: ['query', 'documents'],
            additionalProperties: false,
            properties: {
              query: text,
              documents: { type: 'array', items: text, maxItems: limits.maxDocuments },
              top_k: topKField,
              model: modelField,
              mode: { type: 'string', enum: ['dense', 'lexical', 'hybrid'] },
              rrf_k: { type: 'number', minimum: 0, maximum: 1e9 },
              alpha: { type: 'number', minimum: 0, maximum: 1 },
            },
          },
          response: {
            200: {
              type: 'object',
              required: ['query', 'results', 'timestamp'],
              properties: { query: { type: 'string' }, results: { type: 'array', items: match }, timestamp: { type: 'string', format: 'date-time' } },
            },
            400: originalErrorBody,
          },
        },
        async handler(req) {
          const t0 = performance.now();
          const { query, documents, top_k, model, mode, rrf_k: rrfK, alpha } = req.body as SearchBody;
          const k = top_k === undefined || top_k <= 0 ? DEFAULT_TOP_K : top_k;
          if (rrfK !== undefined && alpha !== undefined) throw new HttpError('validation', 'pass rrf_k (rank fusion) or alpha (weighted scores), not both', 'alpha');
          if ((rrfK !== undefined || alpha !== undefined) && mode !== 'hybrid') throw new HttpError('validation', `rrf_k and alpha apply to mode 'hybrid' only; got mode ${JSON.stringify(mode ?? 'dense')}`, rrfK !== undefined ? 'rrf_k' : 'alpha');
          const found = await serviceFor(req, models, model).findMostSimilar(query, documents, k, { ...callOf(req), mode, rrfK, alpha });
          const results = found.map(({ text: content, similarity, method: m, index, model: id, dimension, scores }) => ({
            content,
            similarity: m === 'bm25' || m === 'bm25_fallback' ? similarity : clamp(similarity),
            method: m,
            index,
            model: id,
            dimension,
            ...(scores ? { scores } : {}),
          }));
          const ms = performance.now() - t0;
          logLine(
            req,
            { method: found[0]?.method ?? 'fastembed_cosine', operation: 'search', text_count: documents.length + 1, top_k: k, duration_ms: Math.round(ms), throughput: (documents.length + 1) / Math.max(ms / 1000, 1e-6) },
            'batch processing completed',
          );
          return { query, results, timestamp: new Date().toISOString() };
        },
      },
      {
        method: 'POST',
        url: '/api/embeddings',
        apiMethod: 'embeddings',
        work: true,
        clientData: true,
        schema: {
          summary: 'Embeddings of texts (float arrays, or base64 little-endian float32 with encoding: "base64")',
          body: {
            type: 'object',
            required: ['texts'],
            additionalProperties: false,
            properties: { texts: { type: 'array', items: text, maxItems: limits.maxInputs }, encoding: { ...encodingFormat, default: 'float' }, model: modelField },
          },
          response: {
            200: {
              type: 'object',
              required: ['model', 'dim', 'encoding', 'embeddings'],
              properties: {
                model: { type: 'string' },
                dim: { type: 'integer' },
                encoding: { type: 'string' },
                embeddings: { type: 'array', items: floatEncoding },
              },
            },
            400: originalErrorBody,
          },
        },
        async handler(req, reply) {
          const t0 = performance.now();
          const { texts, encoding, model } = req.body as EmbeddingsBody;
          const service = serviceFor(req, models, model);
          const vectors = await service.computeBatchEmbeddings(texts, callOf(req));
          const ms = performance.now() - t0;
          logLine(req, { method: 'fastembed_cosine', operation: 'embeddings', text_count: texts.length, duration_ms: Math.round(ms), throughput: texts.length / Math.max(ms / 1000, 1e-6) }, 'batch processing completed');
          const info = service.modelInfo!;
          return sendJson(reply, `{"model":${JSON.stringify(info.id)},"dim":${info.dimension},"encoding":"${encoding}","embeddings":${vectorsJson(vectors, encoding)}}`);
        },
      },
      {
        method: 'GET',
        url: '/api/similarity/stats',
        apiMethod: 'stats',
        schema: { summary: 'Service statistics, as {stats: {...snake_case}, timestamp}; 503 when the service is disabled' },
        async handler() {
          const service = models.default;
          if (!service.config.enabled) throw new HttpError('unavailable', 'the fastembed service is disabled (enabled: false); enable it in the config to get statistics');
          return { stats: designStats(service.getStats()), timestamp: new Date().toISOString() };
        },
      },
    ],
  };
}

