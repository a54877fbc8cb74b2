// Operations: the probes and what they mean (Kubernetes' three), Prometheus metrics and the OpenAPI document.
//   /health   liveness and the design's health check: the process answers; status and reasons over every model.
//   /ready    readiness: every configured model loaded, a work slot free, not shutting down.
//   /startup  startup: every configured model has loaded once; 200 from then on.
import type { ModelSet } from '../service/model-set.js';
import type { SimilarityService } from '../service/service.js';
import { PLAIN_ERRORS, type HttpApi, type RouteContext } from './api.js';
import type { ServiceMetrics } from './metrics.js';

type FastembedState = 'healthy' | 'initializing' | 'error' | 'disabled' | 'not_loaded';

/** One configured model as the probes see it. */
interface ModelReport {
  id: string;
  /** The design's services.fastembed value for this model. */
  state: FastembedState;
  /** Something is wrong now (a failed load, a cache down): the top-level status says degraded. */
  degraded: boolean;
  /** It answers as configured: its model is loaded, or it is disabled on purpose (Jaccard is its declared mode). */
  answering: boolean;
  /** Why, each as "<model id>: <reason>" (server paths are hidden as every body leaves: server.ts). */
  reasons: string[];
}

function report(id: string, service: SimilarityService | undefined): ModelReport {
  if (!service) return { id, state: 'not_loaded', degraded: false, answering: false, reasons: [`${id}: not loaded yet (it loads on its first request, or with ModelSet.initialize())`] };
  const { status, reasons } = service.health();
  const mine = reasons.map((r) => `${id}: ${r}`);
  if (!service.config.enabled) return { id, state: 'disabled', degraded: false, answering: true, reasons: mine };
  if (status === 'initializing') return { id, state: 'initializing', degraded: false, answering: false, reasons: [`${id}: loading`] };
  if (status === 'closed' || !service.modelLoaded) return { id, state: 'error', degraded: true, answering: false, reasons: mine };
  return { id, state: 'healthy', degraded: reasons.length > 0, answering: true, reasons: mine };
}

/** Every configured model, the default first; those not created yet (loaded on first use) as not_loaded. */
const reports = (models: ModelSet): ModelReport[] => models.ids.map((id) => report(id, models.loaded.get(id)));

/** The worst of the models' states, as the design's single services.fastembed value. */
function overall(all: ModelReport[]): FastembedState {
  for (const state of ['error', 'initializing'] as const) if (all.some((r) => r.state === state)) return state;
  return all[0].state === 'not_loaded' ? 'initializing' : all[0].state;
}

export interface OperationsState {
  metrics: ServiceMetrics;
  openApi: () => object;
  shuttingDown: () => boolean;
  /** Requests holding a work slot now (of limits.maxInFlight). */
  inFlight: () => number;
  /** /metrics answers without an API key (the default: scrapers rarely carry one). */
  metricsPublic: boolean;
}

export function operationsApi({ models, limits }: RouteContext, ops: OperationsState): HttpApi {
  // Startup is over once every model has loaded; it stays over (a later problem is readiness's to report).
  let started = false;
  return {
    name: 'operations',
    ...PLAIN_ERRORS,
    routes: [
      {
        method: 'GET',
        url: '/health',
        public: true,
        schema: {
          summary:
            "Liveness, and the design's health check: 200 while the process answers (503 once closed); status healthy | degraded over every configured model, services.fastembed healthy | initializing | error | disabled, reasons naming the model",
        },
        async handler(_req, reply) {
          const all = reports(models);
          const stats = models.default.getStats();
          // A broken model is reported, not answered with 503: a liveness probe must not restart a pod that a
          // restart cannot fix (readiness and startup take it out of service instead).
          reply.code(stats.status === 'closed' ? 503 : 200);
          return {
            status: all.some((r) => r.degraded) ? 'degraded' : 'healthy',
            timestamp: new Date().toISOString(),
            services: { fastembed: overall(all) },
            reasons: all.flatMap((r) => (r.state === 'initializing' || r.state === 'not_loaded' ? [] : r.reasons)),
            model: stats.model,
            dimension: stats.dimension,
            uptime_seconds: Math.round(stats.uptimeMs / 1000),
            models: Object.fromEntries(all.map((r) => [r.id, r.state])),
          };
        },
      },
      {
        method: 'GET',
        url: '/ready',
        public: true,
        schema: {
          summary:
            'Readiness: 200 when every configured model is loaded and a work slot is free; 503 with reasons while starting, when a model failed to load (even with the fallback answering), with every slot busy (at_capacity), or shutting down',
        },
        async handler(_req, reply) {
          const all = reports(models);
          const waiting = all.filter((r) => !r.answering);
          // A replica with every slot busy would answer 429, so it is not ready either: the balancer sends the
          // next request to another one.
          const inFlight = ops.inFlight();
          const full = inFlight >= limits.maxInFlight;
          const ready = !ops.shuttingDown() && waiting.length === 0 && !full;
          reply.code(ready ? 200 : 503);
          const status = ops.shuttingDown()
            ? 'shutting_down'
            : waiting.some((r) => r.state === 'error')
              ? 'degraded'
              : waiting.length > 0
                ? 'initializing'
                : full
                  ? 'at_capacity'
                  : all.some((r) => r.degraded) ? 'degraded' : 'healthy';
          const reasons = [
            ...(ops.shuttingDown() ? ['shutting down'] : []),
            ...waiting.flatMap((r) => r.reasons),
            ...(full ? [`every work slot is busy (${inFlight} of ${limits.maxInFlight})`] : []),
          ];
          return { ready, status, reasons, in_flight: inFlight, max_in_flight: limits.maxInFlight, models: Object.fromEntries(all.map((r) => [r.id, r.state])) };
        },
      },
      {
        method: 'GET',
        url: '/startup',
        public: true,
        schema: {
          summary:
            'Startup: 503 with reasons until every configured model has loaded, then 200 for good (a startup probe; after it, liveness is /health and readiness /ready)',
        },
        async handler(_req, reply) {
          if (!started) {
            const waiting = reports(models).filter((r) => !r.answering);
            started = waiting.length === 0;
            if (!started) return reply.code(503).send({ started, reasons: waiting.flatMap((r) => r.reasons) });
          }
          return { started: true, reasons: [] };
        },
      },
      {
        method: 'GET',
        url: '/metrics',
        public: ops.metricsPublic,
        schema: { summary: 'Prometheus metrics (the design\'s names)', produces: 'text/plain', response: { 200: { type: 'string' } } },
        async handler(_req, reply) {
          reply.header('content-type', ops.metrics.registry.contentType);
          return ops.metrics.registry.metrics();
        },
      },
      {
        method: 'GET',
        url: '/openapi.json',
        public: true,
        schema: { summary: 'This document' },
        async handler() {
          return ops.openApi();
        },
      },
    ],
  };
}
