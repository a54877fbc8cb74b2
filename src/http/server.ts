// The HTTP service: Fastify routes over a SimilarityService, with validation, metrics, health and backpressure.
import Fastify, { type FastifyInstance, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import type { SimilarityService } from '../service.js';
import { ServiceMetrics } from './metrics.js';
import { computeSchema, embeddingsSchema, searchSchema, simpleGet } from './schemas.js';

export interface ServerOptions {
  /** Largest accepted request body in bytes (default 10 MiB); larger ones get 413. */
  bodyLimit?: number;
  /** API requests allowed in flight at once; past it, 503 with Retry-After (default 256). */
  maxInFlight?: number;
  /** Fastify/pino logger options; false for none. Default: JSON logs at LOG_LEVEL or info. */
  logger?: FastifyServerOptions['logger'];
  /** Most ms a client may take to send its body once the headers arrived; past it the connection is closed (default 30 s). */
  bodyTimeoutMs?: number;
}

import { DEFAULT_PORT } from './defaults.js';

export { DEFAULT_PORT };

declare module 'fastify' {
  interface FastifyContextConfig {
    apiMethod?: string;
  }
  interface FastifyRequest {
    countedInFlight?: boolean;
    bodyTimer?: NodeJS.Timeout;
  }
}

interface ComputeBody {
  text1: string;
  text2: string;
}
interface SearchBody {
  query: string;
  documents: string[];
  top_k: number;
}
interface EmbeddingsBody {
  texts: string[];
  encoding: 'float' | 'base64';
}

const ROUTES: Array<[string, string, object]> = [
  ['POST', '/api/similarity/compute', computeSchema],
  ['POST', '/api/similarity/search', searchSchema],
  ['POST', '/api/embeddings', embeddingsSchema],
  ['GET', '/api/similarity/stats', simpleGet('Service statistics')],
  ['GET', '/health', simpleGet('healthy | degraded (with reasons) | initializing')],
  ['GET', '/ready', simpleGet('200 once a model is loaded, 503 while starting, on the fallback after a failed load, or shutting down')],
  ['GET', '/metrics', simpleGet('Prometheus metrics')],
  ['GET', '/openapi.json', simpleGet('This document')],
];

function openApi(): object {
  const paths: Record<string, Record<string, object>> = {};
  for (const [method, url, schema] of ROUTES) {
    const s = schema as { summary: string; body?: object; response?: Record<string, object> };
    paths[url] ??= {};
    paths[url][method.toLowerCase()] = {
      summary: s.summary,
      ...(s.body ? { requestBody: { required: true, content: { 'application/json': { schema: s.body } } } } : {}),
      responses: Object.fromEntries(
        Object.entries(s.response ?? { 200: {} }).map(([code, body]) => [
          code,
          { description: code === '200' ? 'OK' : 'Error', content: { 'application/json': { schema: body } } },
        ]),
      ),
    };
  }
  return { openapi: '3.0.3', info: { title: 'fastembed-native similarity service', version: '1' }, paths };
}

const since = (t0: number) => Math.round((performance.now() - t0) * 100) / 100;

export async function buildServer(service: SimilarityService, options: ServerOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    bodyLimit: options.bodyLimit ?? 10 * 1024 * 1024,
    logger: options.logger ?? { level: process.env.LOG_LEVEL ?? 'info' },
    return503OnClosing: true,
    ajv: { customOptions: { allErrors: false, coerceTypes: false, removeAdditional: false } },
  });
  // JSON only: any other content type is a 415, not a confusing schema error.
  app.removeContentTypeParser(['text/plain']);
  const metrics = new ServiceMetrics(service);
  const maxInFlight = options.maxInFlight ?? 256;
  let inFlight = 0;
  let shuttingDown = false;

  // A slot is returned exactly once however the request ends: answered, failed, or abandoned by its client
  // (leaked slots would end in 503 forever).
  const release = (req: FastifyRequest) => {
    if (!req.countedInFlight) return;
    req.countedInFlight = false;
    inFlight--;
  };
  // A slow or stalled upload can't hold a connection for ever: the body must arrive within bodyTimeoutMs.
  const bodyTimeoutMs = options.bodyTimeoutMs ?? 30_000;
  app.addHook('onRequest', async (req, reply) => {
    const timer = setTimeout(() => req.raw.destroy(), bodyTimeoutMs);
    timer.unref();
    req.bodyTimer = timer;
    reply.raw.once('close', () => clearTimeout(timer));
  });
  // Backpressure: a bounded number of API requests at once; the rest are told to retry instead of queueing. The
  // slot is taken once the body has arrived (preHandler), so slow uploads hold no capacity.
  app.addHook('preHandler', async (req, reply) => {
    clearTimeout(req.bodyTimer);
    if (!req.url.startsWith('/api/')) return;
    if (inFlight >= maxInFlight) {
      reply.header('retry-after', '1');
      return reply.code(503).send({
        error: 'Service Unavailable',
        message: `Too many requests in flight (${maxInFlight}); retry after 1 second`,
        statusCode: 503,
      });
    }
    inFlight++;
    req.countedInFlight = true;
    // 'close' fires for every response, sent or abandoned by its client (onResponse never runs for those).
    reply.raw.once('close', () => release(req));
  });
  app.addHook('onResponse', async (req, reply) => {
    release(req);
    const method = req.routeOptions.config.apiMethod;
    // Probes are not traffic: counting them would make an idle server look busy.
    if (!method || method === 'health' || method === 'ready') return;
    metrics.requests.inc({ method, status: String(reply.statusCode) });
    metrics.duration.observe({ method }, reply.elapsedTime / 1000);
  });

  app.setErrorHandler((err: Error & { statusCode?: number; validation?: unknown }, req, reply) => {
    let status = 500;
    const code = (err as { code?: string }).code; // by code, not class: works across bundles
    if (err.validation) status = 400;
    else if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) status = err.statusCode;
    else if (code === 'ERR_INVALID_ARG') status = 400; // the caller's argument; any other TypeError is our bug
    else if (code === 'ERR_TOO_LARGE') status = 413;
    else if (code === 'ERR_CLOSED' || code === 'ERR_MODEL_UNAVAILABLE' || code === 'ERR_DISABLED') status = 503;
    else if (code === 'ERR_TIMEOUT') status = 504;
    if (status >= 500) req.log.error({ component: 'http', err }, 'request failed');
    const names: Record<number, string> = {
      400: 'Bad Request',
      413: 'Payload Too Large',
      415: 'Unsupported Media Type',
      503: 'Service Unavailable',
      504: 'Gateway Timeout',
    };
    // An unexpected failure's message is for the log, not for unauthenticated clients.
    const message = status === 500 ? 'internal error; the server log has the details' : redactPaths(err.message);
    reply.code(status).send({ error: names[status] ?? (status >= 500 ? 'Internal Server Error' : 'Error'), message, statusCode: status });
  });

  const known = new Map<string, string[]>();
  for (const [method, url] of ROUTES) known.set(url, [...(known.get(url) ?? []), method]);
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0];
    const allowed = known.get(path);
    if (allowed) {
      reply.header('allow', allowed.join(', '));
      return reply.code(405).send({ error: 'Method Not Allowed', message: `${req.method} ${path} is not supported; use ${allowed.join(' or ')}`, statusCode: 405 });
    }
    return reply.code(404).send({ error: 'Not Found', message: `No route ${req.method} ${path}; see /openapi.json`, statusCode: 404 });
  });

  app.post<{ Body: ComputeBody }>('/api/similarity/compute', { schema: computeSchema, config: { apiMethod: 'compute' } }, async (req) => {
    const t0 = performance.now();
    const { text1, text2 } = req.body;
    const result = await service.computeSimilarity(text1, text2);
    req.log.info({
      component: 'similarity_api',
      method: 'compute',
      text1_length: text1.length,
      text2_length: text2.length,
      similarity: result.similarity,
      similarity_method: result.method,
      duration_ms: since(t0),
    });
    return { text1, text2, ...result, timestamp: new Date().toISOString() };
  });

  app.post<{ Body: SearchBody }>('/api/similarity/search', { schema: searchSchema, config: { apiMethod: 'search' } }, async (req) => {
    const t0 = performance.now();
    const { query, documents, top_k } = req.body;
    const results = await service.findMostSimilar(query, documents, top_k);
    req.log.info({
      component: 'similarity_api',
      method: 'search',
      query_length: query.length,
      documents: documents.length,
      top_k,
      best_similarity: results[0]?.similarity,
      duration_ms: since(t0),
    });
    return { query, results, timestamp: new Date().toISOString() };
  });

  app.post<{ Body: EmbeddingsBody }>('/api/embeddings', { schema: embeddingsSchema, config: { apiMethod: 'embeddings' } }, async (req) => {
    const t0 = performance.now();
    const { texts, encoding } = req.body;
    const vectors = await service.computeBatchEmbeddings(texts);
    const stats = service.getStats();
    req.log.info({ component: 'similarity_api', method: 'embeddings', texts: texts.length, duration_ms: since(t0) });
    const embeddings =
      encoding === 'base64'
        ? vectors.map((v) => Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64'))
        : vectors.map((v) => Array.from(v));
    return { model: stats.model, dim: stats.dimension, encoding, embeddings };
  });

  app.get('/api/similarity/stats', { config: { apiMethod: 'stats' } }, async () => service.getStats());

  app.get('/health', { config: { apiMethod: 'health' } }, async (_req, reply) => {
    const { status, reasons } = service.health();
    const stats = service.getStats();
    // Degraded still answers (fallback), so it stays 200: a liveness probe must not restart a working pod.
    reply.code(status === 'healthy' || status === 'degraded' ? 200 : 503);
    return {
      status,
      reasons: reasons.map(redactPaths),
      model: stats.model,
      dimension: stats.dimension,
      uptime_seconds: Math.round(stats.uptimeMs / 1000),
      timestamp: new Date().toISOString(),
    };
  });

  app.get('/ready', { config: { apiMethod: 'ready' } }, async (_req, reply) => {
    const status = service.health().status;
    // Ready means embeddings: a service answering from the fallback because its model failed to load is not
    // (a deliberately disabled one is: Jaccard is its declared mode).
    const answering = service.modelLoaded || !service.config.enabled;
    const ready = !shuttingDown && answering && (status === 'healthy' || status === 'degraded');
    reply.code(ready ? 200 : 503);
    return { ready, status: shuttingDown ? 'shutting_down' : status };
  });

  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  const doc = openApi();
  app.get('/openapi.json', async () => doc);

  app.addHook('preClose', async () => {
    shuttingDown = true;
  });
  // While closing, each finished response also closes its connection, so keep-alive clients cannot hold
  // the shutdown open until their idle timeout.
  app.addHook('onSend', async (_req, reply) => {
    if (shuttingDown) reply.header('connection', 'close');
  });
  return app;
}

/** Absolute file paths in a message become <path>: they describe the server's disk to whoever asks. */
export function redactPaths(message: string): string {
  return message.replace(/(?<![\w.:/])\/(?:[\w.@+-]+\/)+[\w.@+-]*/g, '<path>');
}

/**
 * Closes gracefully on SIGTERM/SIGINT: /ready turns 503, new connections are refused, idle ones closed, in-flight
 * requests finish; connections still open after `deadlineMs` (a slow or stalled client) are closed, then the
 * service drains and frees the model's sessions, and the process exits.
 */
export function closeOnSignals(
  app: FastifyInstance,
  service: SimilarityService,
  signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT'],
  deadlineMs = 10_000,
): void {
  let closing = false;
  const handler = (signal: NodeJS.Signals) => {
    if (closing) return;
    closing = true;
    app.log.info({ component: 'server', signal }, 'shutting down');
    const deadline = setTimeout(() => {
      app.log.warn({ component: 'server', deadline_ms: deadlineMs }, 'shutdown deadline passed: closing the remaining connections');
      app.server.closeAllConnections();
    }, deadlineMs);
    deadline.unref();
    app
      .close()
      .then(() => service.close({ deadlineMs }))
      .then(
        () => process.exit(0),
        (err) => {
          app.log.error({ component: 'server', err }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  for (const s of signals) process.once(s, handler);
}
