// The HTTP layer: one Fastify plugin per API the server speaks, over the service layer's ModelSet. It may import
// service/, engine/, runtime/ and util/; only cli/ imports it.
//
// The HTTP service: one request pipeline (API keys, body timeout, body encoding, bounded work with 429, abort on
// disconnect, timing headers, errors in each API's own shape, no server paths in any body, metrics) under the API
// modules — the original routes, OpenAI's, TEI's and operations. Adding an API is adding its module to the `apis`
// list below.
/**
 * The HTTP service (Fastify): the original routes, OpenAI's and TEI's APIs, health, readiness and metrics.
 *
 * @packageDocumentation
 * @module fastembed-native/server
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import { ModelSet } from '../service/model-set.js';
import type { SimilarityService } from '../service/service.js';
import { OverloadedError } from '../util/errors.js';
import { onLogEvent } from '../util/log-events.js';
import type { ErrorObject } from 'ajv';
import { classify, type ErrorKind, HttpError, type HttpApi, type Limits, type RouteContext } from './api.js';
import { checkBodyEncoding } from './body.js';
import { DEFAULT_LIMITS, DEFAULT_PORT } from './defaults.js';
import { ServiceMetrics } from './metrics.js';
import { openaiApi } from './openai-api.js';
import { buildOpenApi } from './openapi.js';
import { operationsApi } from './operations-api.js';
import { originalApi } from './original-api.js';
import { redactPaths } from './redact.js';
import { requestTimeout } from './request-timeout.js';
import { teiApi } from './tei-api.js';
import { describeValidation } from './validation.js';

export { DEFAULT_LIMITS, DEFAULT_PORT, ModelSet, redactPaths };
export type { Limits };

export interface ServerOptions extends Partial<Limits> {
  /** Fastify/pino logger options; false for none. Default: JSON logs at LOG_LEVEL or info. */
  logger?: FastifyServerOptions['logger'];
  /** Most ms a client may take to send its body once the headers arrived; past it the connection is closed (default 30 s). */
  bodyTimeoutMs?: number;
  /** Keys accepted as `Authorization: Bearer <key>` on every route but /health, /ready, /startup and /openapi.json; none: open. */
  apiKeys?: string[];
  /** Ask for a key on /metrics too (default false: scrapers rarely carry one). */
  metricsAuth?: boolean;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    apiMethod?: string;
    api?: string;
    public?: boolean;
    work?: boolean;
    clientData?: boolean;
  }
  interface FastifyRequest {
    countedInFlight?: boolean;
    bodyTimer?: NodeJS.Timeout;
    arrivedAt?: number;
    startedAt?: number;
  }
}

/** Which API an unmatched URL belongs to, so even its 404 comes in that API's shape. */
function apiForPath(path: string): string {
  if (path.startsWith('/v1/') || path === '/embeddings' || path === '/models') return 'openai';
  if (/^\/(embed|similarity|tokenize|decode|info|rerank|predict|embed_all|embed_sparse)$/.test(path)) return 'tei';
  return 'original';
}

/** Constant-time check of a bearer token against the configured keys (hashes, so lengths don't leak either). */
function keyChecker(keys: string[]): (header: string | undefined) => boolean {
  const digests = keys.map((k) => createHash('sha256').update(k).digest());
  return (header) => {
    const token = /^Bearer\s+(.+)$/i.exec(header ?? '')?.[1]?.trim() ?? '';
    const given = createHash('sha256').update(token).digest();
    let ok = false;
    for (const d of digests) ok = timingSafeEqual(d, given) || ok; // no early exit
    return ok && token.length > 0;
  };
}

/** What the client is told: what was wrong and what to do, never internals (server paths are hidden as the body leaves). */
function clientMessage(
  err: Error & { validation?: ErrorObject[]; code?: string },
  req: FastifyRequest,
  { kind, param }: { kind: ErrorKind; param?: string },
  models: ModelSet,
): { message: string; param?: string } {
  if (err.validation) return describeValidation(err.validation);
  // An unexpected failure's message is for the log, not for unauthenticated clients.
  if (kind === 'internal') return { message: 'internal error; the server log has the details' };
  if (kind === 'unsupported_media' && !(err instanceof HttpError)) {
    const type = req.headers['content-type'];
    return { message: `send the body as JSON with the header "Content-Type: application/json"; got ${type ? `"${type}"` : 'no Content-Type header'}` };
  }
  if (err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return { message: 'the body is empty: send a JSON object' };
  if (err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err instanceof SyntaxError) {
    const detail = err.cause instanceof Error ? ` (${err.cause.message})` : err instanceof SyntaxError ? ` (${err.message})` : '';
    return { message: `the body is not valid JSON${detail}; send one JSON object` };
  }
  if (err.code === 'ERR_MODEL_UNAVAILABLE' && req.servedModel) {
    const others = models.ids.filter((id) => id !== req.servedModel);
    const reason = err.message.replace(/^model unavailable: /, '');
    const instead = others.length > 0 ? ` or name another served model (${others.join(', ')})` : '';
    return { message: `the model '${req.servedModel}' is not available: ${reason}; retry later${instead}, and see GET /ready for every model's state`, param: param ?? 'model' };
  }
  return { message: err.message, param };
}

export async function buildServer(served: SimilarityService | ModelSet, options: ServerOptions = {}): Promise<FastifyInstance> {
  const models = served instanceof ModelSet ? served : new ModelSet(served);
  const limits: Limits = { ...DEFAULT_LIMITS };
  for (const key of Object.keys(DEFAULT_LIMITS) as Array<keyof Limits>) if (options[key] !== undefined) (limits as unknown as Record<string, unknown>)[key] = options[key];
  const app = Fastify({
    bodyLimit: limits.bodyLimit,
    logger: options.logger ?? { level: process.env.LOG_LEVEL ?? 'info' },
    return503OnClosing: true,
    // verbose: errors carry the value and the schema, so each can be told as one sentence (validation.ts).
    ajv: { customOptions: { allErrors: false, coerceTypes: false, removeAdditional: false, verbose: true } },
  });
  // JSON only: any other content type is a 415, not a confusing schema error.
  app.removeContentTypeParser(['text/plain']);
  let inFlight = 0;
  const metrics = new ServiceMetrics(models.default, () => inFlight);
  let shuttingDown = false;

  const ctx: RouteContext = { models, limits };
  const apis: HttpApi[] = [];
  const openApi = () => doc;
  apis.push(
    originalApi(ctx),
    openaiApi(ctx),
    teiApi(ctx),
    operationsApi(ctx, { metrics, openApi, shuttingDown: () => shuttingDown, metricsPublic: !options.metricsAuth, inFlight: () => inFlight }),
  );
  const byName = new Map(apis.map((a) => [a.name, a]));
  // Every route's URL and its methods (405's Allow; not a file path to redact).
  const known = new Map<string, string[]>();
  for (const api of apis) for (const r of api.routes) known.set(r.url, [...(known.get(r.url) ?? []), r.method]);
  const doc = buildOpenApi(apis, { secured: (options.apiKeys ?? []).length > 0 });

  // A slot is returned exactly once however the request ends: answered, failed, or abandoned by its client
  // (leaked slots would end in 429 for ever).
  const release = (req: FastifyRequest) => {
    if (!req.countedInFlight) return;
    req.countedInFlight = false;
    inFlight--;
  };
  const authorized = options.apiKeys && options.apiKeys.length > 0 ? keyChecker(options.apiKeys) : undefined;
  // A slow or stalled upload can't hold a connection for ever: the body must arrive within bodyTimeoutMs.
  const bodyTimeoutMs = options.bodyTimeoutMs ?? 30_000;
  app.addHook('onRequest', async (req, reply) => {
    req.arrivedAt = performance.now();
    const timer = setTimeout(() => req.raw.destroy(), bodyTimeoutMs);
    timer.unref();
    req.bodyTimer = timer;
    reply.raw.once('close', () => clearTimeout(timer));
    if (authorized && !req.routeOptions.config.public && !authorized(req.headers.authorization)) {
      reply.header('www-authenticate', 'Bearer');
      throw new HttpError('unauthorized', 'missing or wrong API key: send it as "Authorization: Bearer <key>"');
    }
  });
  // Only uncompressed UTF-8 JSON is read: anything else is a 415 before the body is parsed (body.ts).
  app.addHook('preParsing', async (req, _reply, payload) => {
    checkBodyEncoding(req.headers);
    return payload;
  });
  // Backpressure: a bounded number of requests doing model work at once; the rest are told to retry instead of
  // queueing without bound. The slot is taken once the body has arrived, so slow uploads hold no capacity.
  app.addHook('preHandler', async (req, reply) => {
    clearTimeout(req.bodyTimer);
    req.startedAt = performance.now();
    if (!req.routeOptions.config.work) return;
    if (inFlight >= limits.maxInFlight) {
      reply.header('retry-after', '1');
      throw new HttpError('overloaded', `too many requests in flight (${limits.maxInFlight}); retry after 1 second`);
    }
    req.timeoutMs = requestTimeout(req.headers['x-timeout-ms']);
    inFlight++;
    req.countedInFlight = true;
    // A client that goes away cancels its work: texts not yet in a batch are dropped, a running batch is stopped.
    const abort = new AbortController();
    req.abort = abort;
    // 'close' fires for every response, sent or abandoned by its client (onResponse never runs for those).
    reply.raw.once('close', () => {
      release(req);
      if (!reply.raw.writableFinished) abort.abort(new DOMException('the client closed the connection', 'AbortError'));
    });
  });
  app.addHook('onSend', async (req, reply) => {
    // While closing, each finished response also closes its connection, so keep-alive clients cannot hold
    // the shutdown open until their idle timeout.
    if (shuttingDown) reply.header('connection', 'close');
    if (!req.routeOptions.config.work || req.arrivedAt === undefined) return;
    const ms = (x: number) => String(Math.round(x));
    const now = performance.now();
    // TEI's timing headers: queue is arrival to work start (body upload included); inference is the model call,
    // cache and the model's own batching queue included.
    reply.header('x-total-time', ms(now - req.arrivedAt));
    reply.header('x-queue-time', ms((req.startedAt ?? now) - req.arrivedAt));
    if (req.timing) {
      reply.header('x-tokenization-time', ms(req.timing.tokenizationMs));
      reply.header('x-inference-time', ms(req.timing.inferenceMs));
      reply.header('x-compute-tokens', String(req.timing.tokens));
      reply.header('x-compute-characters', String(req.timing.characters));
    }
  });
  // One redaction where every body leaves: no absolute server path (a model file, a cache folder in a failure's
  // reason) reaches a client, whichever route or error put it there. A successful answer made of the client's own
  // texts and vectors passes untouched (base64 holds '/', a document may hold a path); the server's routes and the
  // URL asked for are not files.
  app.addHook('onSend', async (req, reply, payload) => {
    if (typeof payload !== 'string' || (req.routeOptions.config.clientData && reply.statusCode < 400)) return payload;
    const asked = req.url.split('?')[0];
    return redactPaths(payload, (path) => path === asked || known.has(path));
  });
  app.addHook('onResponse', async (req, reply) => {
    release(req);
    const method = req.routeOptions.config.apiMethod;
    if (!method) return; // probes and operations are not traffic: counting them would make an idle server look busy
    metrics.requests.inc({ method, status: String(reply.statusCode) });
    metrics.duration.observe({ method }, reply.elapsedTime / 1000);
  });

  app.setErrorHandler((err: Error & { statusCode?: number; validation?: ErrorObject[]; code?: string }, req, reply) => {
    const api = byName.get(req.routeOptions.config.api ?? apiForPath(req.url.split('?')[0]))!;
    const classified = classify(err);
    const { kind } = classified;
    const status = api.status(kind);
    const operation = req.routeOptions.config.apiMethod ?? req.url;
    if (kind === 'client_closed') {
      // The client's choice, not our failure: one info line without a stack, and a count to watch.
      metrics.clientDisconnects.inc({ method: req.routeOptions.config.apiMethod ?? 'other' });
      req.log.info({ component: 'fastembed', operation, timestamp: new Date().toISOString() }, 'client disconnected before its answer; its work was cancelled');
    } else if (kind === 'internal' || kind === 'timeout') {
      req.log.error({ component: 'fastembed', operation, error: err.message, err, timestamp: new Date().toISOString() }, 'fastembed operation failed');
    }
    // Work refused past capacity says when the queue will have room (whole seconds, rounded up).
    if (err instanceof OverloadedError) reply.header('retry-after', String(Math.ceil(err.retryAfterMs / 1000)));
    const { message, param } = clientMessage(err, req, classified, models);
    reply.code(status).send(api.errorBody({ kind, status, message, param }));
  });

  app.setNotFoundHandler(async (req, reply) => {
    const path = req.url.split('?')[0];
    const allowed = known.get(path);
    if (allowed) {
      reply.header('allow', allowed.join(', '));
      throw new HttpError('method_not_allowed', `${req.method} ${path} is not supported; use ${allowed.join(' or ')}`);
    }
    throw new HttpError('not_found', `no route ${req.method} ${path}; see /openapi.json`);
  });

  for (const api of apis) {
    for (const route of api.routes) {
      app.route({
        method: route.method,
        url: route.url,
        schema: { ...(route.schema.body ? { body: route.schema.body } : {}), ...(route.schema.response ? { response: route.schema.response } : {}) },
        config: { api: api.name, apiMethod: route.apiMethod, public: route.public, work: route.work, clientData: route.clientData },
        handler: route.handler,
      });
    }
  }

  // What the models' resources report (a disk cache whose writes fail, then resume) joins the JSON log.
  const stopLogEvents = onLogEvent((e) => app.log[e.level]({ component: e.component, timestamp: new Date().toISOString() }, e.message));
  app.addHook('onClose', async () => stopLogEvents());
  app.addHook('preClose', async () => {
    shuttingDown = true;
  });
  return app;
}

/**
 * Closes gracefully on SIGTERM/SIGINT: /ready turns 503, new connections are refused, idle ones closed, in-flight
 * requests finish; connections still open after `deadlineMs` (a slow or stalled client) are closed, then the
 * services drain and free their models' sessions, and the process exits.
 */
export function closeOnSignals(
  app: FastifyInstance,
  served: SimilarityService | ModelSet,
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
      .then(() => served.close({ deadlineMs }))
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
