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
-m, --model <id>        repeat to serve several models (the first is the default; the others load on first use,
                        chosen by a request's "model" field); also FASTEMBED_MODELS=id,id
    --api-key <key>     require "Authorization: Bearer <key>" on every route but /health, /ready, /openapi.json
                        (repeatable; also FASTEMBED_API_KEY)
    --metrics-auth      require the key on /metrics too
    --max-in-flight <n> requests doing work at once; more get 429 with Retry-After (default ${DEFAULT_LIMITS.maxInFlight})
    --max-inputs <n>    inputs per request (default ${DEFAULT_LIMITS.maxInputs})
    --max-input-chars <n> characters per input (default ${DEFAULT_LIMITS.maxInputChars})
    --body-limit <bytes> largest request body (default ${DEFAULT_LIMITS.bodyLimit})
    --no-auto-truncate  refuse over-long inputs (422/400) unless a request asks for truncation
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
    const service = new SimilarityService(configFromArgs({ ...values, model: ids[0] }));
    const models = new ModelSet(service, ids.slice(1).map((model) => ({ model, modelPath: undefined })));
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
    // The model loads after the port is open, so /health reports "initializing" meanwhile.
    await service.initialize().catch((err) => app.log.error({ component: 'server', err }, 'model failed to load'));
    const { status, reasons } = service.health();
    if (service.modelLoaded) app.log.info({ component: 'server', status, model: service.getStats().model, models: models.ids }, 'ready');
    else app.log.warn({ component: 'server', status, reasons }, 'serving the Jaccard fallback: the model did not load (retrying in the background; /ready answers 503)');
  },
};
