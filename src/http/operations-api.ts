// Operations: the design's health check, readiness, Prometheus metrics and the OpenAPI document.
import type { SimilarityService } from '../service/service.js';
import { PLAIN_ERRORS, type HttpApi, type RouteContext } from './api.js';
import type { ServiceMetrics } from './metrics.js';
import { redactPaths } from './redact.js';

type FastembedState = 'healthy' | 'initializing' | 'error' | 'disabled';

/** The design's services.fastembed value and the overall status it implies. */
function fastembedState(service: SimilarityService): { state: FastembedState; status: 'healthy' | 'degraded' } {
  const { status, reasons } = service.health();
  if (!service.config.enabled) return { state: 'disabled', status: 'healthy' };
  if (status === 'initializing') return { state: 'initializing', status: 'healthy' };
  if (status === 'closed' || !service.modelLoaded) return { state: 'error', status: 'degraded' };
  return { state: 'healthy', status: reasons.length > 0 ? 'degraded' : 'healthy' };
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
  return {
    name: 'operations',
    ...PLAIN_ERRORS,
    routes: [
      {
        method: 'GET',
        url: '/health',
        public: true,
        schema: {
          summary: 'The design\'s health check: status healthy | degraded, services.fastembed healthy | initializing | error | disabled (200; 503 once closed)',
        },
        async handler(_req, reply) {
          const service = models.default;
          const { state, status } = fastembedState(service);
          const stats = service.getStats();
          // Degraded still answers (fallback), so it stays 200: a liveness probe must not restart a working pod.
          reply.code(stats.status === 'closed' ? 503 : 200);
          return {
            status,
            timestamp: new Date().toISOString(),
            services: { fastembed: state },
            reasons: stats.reasons.map(redactPaths),
            model: stats.model,
            dimension: stats.dimension,
            uptime_seconds: Math.round(stats.uptimeMs / 1000),
            models: Object.fromEntries([...models.loaded].map(([id, s]) => [id, fastembedState(s).state])),
          };
        },
      },
      {
        method: 'GET',
        url: '/ready',
        public: true,
        schema: {
          summary: '200 once the default model is loaded and a work slot is free; 503 while starting, on the fallback after a failed load, with every slot busy (at_capacity), or shutting down',
        },
        async handler(_req, reply) {
          const service = models.default;
          const status = service.health().status;
          // Ready means embeddings: a service answering from the fallback because its model failed to load is not
          // (a deliberately disabled one is: Jaccard is its declared mode). A replica with every slot busy would
          // answer 429, so it is not ready either: the balancer sends the next request to another one.
          const answering = service.modelLoaded || !service.config.enabled;
          const inFlight = ops.inFlight();
          const full = inFlight >= limits.maxInFlight;
          const ready = !ops.shuttingDown() && answering && !full && (status === 'healthy' || status === 'degraded');
          reply.code(ready ? 200 : 503);
          const state = ops.shuttingDown() ? 'shutting_down' : full && answering ? 'at_capacity' : status;
          return { ready, status: state, in_flight: inFlight, max_in_flight: limits.maxInFlight };
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
