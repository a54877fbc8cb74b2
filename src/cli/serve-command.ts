// `serve`: the HTTP service (the original routes, OpenAI, TEI) on one port, one model or several.
import { DEFAULT_LIMITS, DEFAULT_PORT } from '../http/defaults.js';
import { ModelSet } from '../service/model-set.js';
import { SimilarityService } from '../service/service.js';
import { configFromArgs, MODEL_HELP, MODEL_OPTIONS, parse, positiveIntOption, UsageError } from './args.js';
import { write, type Command } from './console.js';

export const serveCommand: Command = {
  summary: 'Run the HTTP service: the original routes, OpenAI /v1/embeddings and TEI /embed',
  usage: `fastembed-native serve [--port 8080] [--host 0.0.0.0] [-m <id> [-m <id> ...]] [--api-key <key>]

-p, --port <n>          port (default PORT or ${DEFAULT_PORT})
    --host <addr>       interface (default HOST or 0.0.0.0)
-m, --model <id>        repeat to serve several models (the first is the default; a request's "model" field picks
                        another); all load at start; also FASTEMBED_MODELS=id,id. A model other than the first that
                        cannot load answers 503, not the Jaccard fallback, unless --fallback (or
                        FASTEMBED_FALLBACK, or fallback_enabled in the config file) asks for it
    --api-key <key>     require "Authorization: Bearer <key>" on every route but /health, /ready, /startup, /openapi.json
                        (repeatable; also FASTEMBED_API_KEY)
    --metrics-auth      require the key on /metrics too
    --max-in-flight <n> requests doing work at once; more get 429 with Retry-After (default ${DEFAULT_LIMITS.maxInFlight})
    --max-inputs <n>    inputs per request (default ${DEFAULT_LIMITS.maxInputs})
    --max-input-chars <n> characters per input (default ${DEFAULT_LIMITS.maxInputChars})
    --body-limit <bytes> largest request body (default ${DEFAULT_LIMITS.bodyLimit})
    --no-auto-truncate  refuse over-long inputs (422/400) unless a request asks for truncation
Probes: /health liveness (the process answers), /ready readiness (every model loaded, a slot free),
        /startup startup (every model has loaded once)
Environment: PORT, HOST, FASTEMBED_API_KEY, FASTEMBED_MODELS, FASTEMBED_CACHE_DIR, ONNX_PATH, LOG_LEVEL, FASTEMBED_* (see README)
${MODEL_HELP}`,
  async run(argv) {
    const { values } = parse(argv, {
      ...MODEL_OPTIONS,
      model: { type: 'string', short: 'm', multiple: true },
      port: { type: 'string', short: 'p' },
      host: { type: 'string' },
      'api-key': { type: 'string', multiple: true },
      'metrics-auth': { type: 'boolean' },
      'max-in-flight': { type: 'string' },
      'max-inputs': { type: 'string' },
      'max-input-chars': { type: 'string' },
      'body-limit': { type: 'string' },
      'no-auto-truncate': { type: 'boolean' },
    });
    if (values.help) return void write(`${this.usage}\n`);
    const port = Number(values.port ?? process.env.PORT ?? DEFAULT_PORT);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be 0..65535, got '${values.port ?? process.env.PORT}'`);
    const host = values.host ?? process.env.HOST ?? '0.0.0.0';
    const ids = values.model ?? (process.env.FASTEMBED_MODELS ? process.env.FASTEMBED_MODELS.split(',').map((m) => m.trim()).filter(Boolean) : []);
    // serve keeps the original service's fallback on for its default model (a config file or flag can turn it off).
    const service = new SimilarityService(configFromArgs({ ...values, model: ids[0] }, { fallback: true }));
    // The first model keeps the configured fallback (the original service's design). A further model is one a
    // request names: it answers with that model or a 503 naming it, never Jaccard scores, unless the fallback
    // was asked for in so many words.
    const fallback = configFromArgs({ ...values, model: ids[0] }).fallback; // asked for by --fallback, the environment or the config file
    const models = new ModelSet(service, ids.slice(1).map((model) => ({ model, modelPath: undefined, fallback })));
    const apiKeys = values['api-key'] ?? (process.env.FASTEMBED_API_KEY ? [process.env.FASTEMBED_API_KEY] : []);
    const { buildServer, closeOnSignals } = await import('../http/server.js');
    const app = await buildServer(models, {
      apiKeys,
      metricsAuth: values['metrics-auth'],
      maxInFlight: positiveIntOption(values['max-in-flight'], 'max-in-flight'),
      maxInputs: positiveIntOption(values['max-inputs'], 'max-inputs'),
      maxInputChars: positiveIntOption(values['max-input-chars'], 'max-input-chars'),
      bodyLimit: positiveIntOption(values['body-limit'], 'body-limit'),
      autoTruncate: values['no-auto-truncate'] ? false : undefined,
    });
    closeOnSignals(app, models);
    await app.listen({ port, host });
    if (apiKeys.length === 0 && host !== '127.0.0.1' && host !== 'localhost') {
      app.log.warn({ component: 'server', host }, 'no API key set: anyone who can reach this port can use it (set --api-key or FASTEMBED_API_KEY)');
    }
    // The models load after the port is open, all of them (readiness waits for every one): /health reports
    // "initializing" and /startup and /ready 503 meanwhile.
    await models.initialize();
    const failed = [...models.loaded].filter(([, s]) => !s.modelLoaded && s.config.enabled);
    if (failed.length === 0) app.log.info({ component: 'server', status: service.health().status, model: service.getStats().model, models: models.ids }, 'ready');
    for (const [id, s] of failed) {
      const { reasons } = s.health();
      const answer = s.config.fallback ? 'answering with the Jaccard fallback and retrying in the background' : 'its requests get 503 until it loads';
      app.log.error({ component: 'server', model: id, reasons }, `model ${id} did not load: ${answer}; /ready and /startup answer 503`);
    }
  },
};
