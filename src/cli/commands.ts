// The CLI's commands. Each takes its argv (after the command name) and writes to stdout/stderr.
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { embedderOptionsFrom, type SimilarityConfig } from '../service/config.js';
import { Embedder } from '../engine/embedder.js';
import { DEFAULT_LIMITS, DEFAULT_PORT } from '../http/defaults.js';
import { ModelSet } from '../service/model-set.js';
import { exportBertCheckpoint } from '../models/bert-export.js';
import { ensureModelDir } from '../models/loader.js';
import { getModelSpec, MODELS } from '../models/registry.js';
import { SimilarityService } from '../service/service.js';
import { configFromArgs, MODEL_HELP, MODEL_OPTIONS, parse, positiveIntOption, UsageError } from './args.js';
import { formatEmbeddings, type EmbedFormat } from './output.js';

export interface Command {
  summary: string;
  usage: string;
  run(argv: string[]): Promise<void>;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Non-empty lines of a file ('-' = stdin). */
async function readLines(file: string): Promise<string[]> {
  const text = file === '-' ? await readStdin() : fs.readFileSync(file, 'utf8');
  return text.split(/\r?\n/).filter((l) => l.trim().length > 0);
}

function embedderOptions(c: SimilarityConfig) {
  return { ...embedderOptionsFrom(c), showProgress: true };
}

function progressBar(label: string): ((done: number, total: number) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  return (done, total) => {
    const pct = Math.round((100 * done) / total);
    process.stderr.write(`\r${label} [${'#'.repeat(pct / 4).padEnd(25, '.')}] ${done}/${total}`);
    if (done === total) process.stderr.write('\n');
  };
}

const write = (s: string | Buffer) => process.stdout.write(s);

export const commands: Record<string, Command> = {
  embed: {
    summary: 'Embed texts (arguments, --file, or stdin) and print the vectors',
    usage: `fastembed-native embed [text ...] [--file <path|->] [--format json|ndjson|npy] [--output <file>] [--query]

Texts come from the arguments, else --file (one text per line), else stdin.
  -f, --file <path>       one text per line ('-' for stdin)
      --format <fmt>      json (default), ndjson (one object per line), npy (float32 NumPy array)
  -o, --output <file>     write there instead of stdout
      --query             embed as queries (adds the model's query prefix)
${MODEL_HELP}`,
    async run(argv) {
      const { values, positionals } = parse(argv, {
        ...MODEL_OPTIONS,
        file: { type: 'string', short: 'f' },
        format: { type: 'string', default: 'json' },
        output: { type: 'string', short: 'o' },
        query: { type: 'boolean', default: false },
      });
      if (values.help) return void write(`${this.usage}\n`);
      const format = values.format as EmbedFormat;
      if (!['json', 'ndjson', 'npy'].includes(format)) throw new UsageError(`--format must be json, ndjson or npy, got '${format}'`);
      let texts = positionals;
      if (texts.length === 0) texts = await readLines(values.file ?? '-');
      if (texts.length === 0) throw new UsageError('no texts to embed: pass them as arguments, with --file, or on stdin');
      const config = configFromArgs(values);
      const embedder = await Embedder.create(embedderOptions(config));
      try {
        const input = values.query ? texts.map((t) => embedder.queryPrefix + t) : texts;
        const m = await embedder.embedMatrix(input, { onProgress: progressBar('embedding') });
        const out = formatEmbeddings(texts, m, format, embedder.model);
        if (values.output) fs.writeFileSync(values.output, out);
        else if (format === 'npy' && process.stdout.isTTY) throw new UsageError('refusing to write binary .npy to a terminal; use --output or a pipe');
        else write(out);
      } finally {
        await embedder.close();
      }
    },
  },

  similarity: {
    summary: 'Similarity of two texts',
    usage: `fastembed-native similarity <text1> <text2> [--json]
${MODEL_HELP}`,
    async run(argv) {
      const { values, positionals } = parse(argv, { ...MODEL_OPTIONS, json: { type: 'boolean', default: false } });
      if (values.help) return void write(`${this.usage}\n`);
      if (positionals.length !== 2) throw new UsageError(`similarity takes exactly two texts, got ${positionals.length}`);
      // One-shot commands fail when the named model can't load, unless --fallback asks for Jaccard answers.
      const service = await SimilarityService.create({ ...configFromArgs(values), fallback: values.fallback === true });
      try {
        const r = await service.computeSimilarity(positionals[0], positionals[1]);
        write(values.json ? `${JSON.stringify(r)}\n` : `${r.similarity.toFixed(6)}\t${r.method}\n`);
      } finally {
        await service.close();
      }
    },
  },

  search: {
    summary: 'The k documents of a file most similar to a query',
    usage: `fastembed-native search --query <text> --file <docs.txt|-> [-k 5] [--json]

  -q, --query <text>      the query
  -f, --file <path>       documents, one per line ('-' for stdin)
  -k, --top-k <n>         how many results (default 5)
${MODEL_HELP}`,
    async run(argv) {
      const { values } = parse(argv, {
        ...MODEL_OPTIONS,
        query: { type: 'string', short: 'q' },
        file: { type: 'string', short: 'f' },
        'top-k': { type: 'string', short: 'k', default: '5' },
        json: { type: 'boolean', default: false },
      });
      if (values.help) return void write(`${this.usage}\n`);
      if (values.query === undefined) throw new UsageError('--query is required');
      if (values.file === undefined) throw new UsageError('--file is required (one document per line, - for stdin)');
      const k = Number(values['top-k']);
      if (!Number.isInteger(k) || k < 1) throw new UsageError(`-k must be a positive integer, got '${values['top-k']}'`);
      const docs = await readLines(values.file);
      // One-shot commands fail when the named model can't load, unless --fallback asks for Jaccard answers.
      const service = await SimilarityService.create({ ...configFromArgs(values), fallback: values.fallback === true });
      try {
        const results = await service.findMostSimilar(values.query, docs, k);
        if (values.json) write(`${JSON.stringify({ query: values.query, results })}\n`);
        else for (const r of results) write(`${r.similarity.toFixed(4)}\t${r.index}\t${r.text}\n`);
      } finally {
        await service.close();
      }
    },
  },

  serve: {
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
  },

  convert: {
    summary: 'Export a BERT checkpoint (config.json + model.safetensors) to a model directory, no Python needed',
    usage: `fastembed-native convert <checkpoint-dir> <out-dir>

Writes <out-dir>/model.onnx (fp32) and copies the tokenizer files, so --model-path <out-dir> can use it.
The checkpoint is a folder as sentence-transformers or Hugging Face save a BertModel (all-MiniLM-L6-v2, BGE, e5).`,
    async run(argv) {
      const { values, positionals } = parse(argv, { help: { type: 'boolean', short: 'h' } });
      if (values.help) return void write(`${this.usage}\n`);
      if (positionals.length !== 2) throw new UsageError(`convert takes a checkpoint folder and an output folder, got ${positionals.length} arguments`);
      write(`${exportBertCheckpoint(positionals[0], positionals[1])}\n`);
    },
  },

  models: {
    summary: 'list | download <id> | verify <id>: the model registry and cache',
    usage: `fastembed-native models list [--json]
fastembed-native models download <id> [--cache-dir <dir>]
fastembed-native models verify <id> [--cache-dir <dir> | --model-path <dir>]

verify loads the model, embeds a sentence, checks the dimension and unit norm, and prints file sizes and sha256.`,
    async run(argv) {
      const { values, positionals } = parse(argv, { ...MODEL_OPTIONS, json: { type: 'boolean', default: false } });
      const [sub, id] = positionals;
      if (values.help || !sub) return void write(`${this.usage}\n`);
      const config = configFromArgs(values);
      if (sub === 'list') {
        if (values.json) return void write(`${JSON.stringify(MODELS, null, 2)}\n`);
        write('id\tdim\tpooling\tmax_len\tlanguage\tsize_mb\tquery_prefix\trevision\tsha256\n');
        for (const m of MODELS) {
          const pinned = m.files[0].sha256 ? 'pinned' : 'unknown';
          write(`${m.id}\t${m.dim}\t${m.pooling}\t${m.maxLength}\t${m.language}\t${m.sizeMb}\t${JSON.stringify(m.queryPrefix)}\t${m.revision ?? 'main'}\t${pinned}\n`);
        }
        return;
      }
      if (!id) throw new UsageError(`models ${sub} needs a model id (see 'models list')`);
      const spec = getModelSpec(id);
      if (sub === 'download') {
        const dir = await ensureModelDir(spec, { cacheDir: config.cacheDir, showProgress: true });
        return void write(`${dir}\n`);
      }
      if (sub === 'verify') {
        const embedder = await Embedder.create({ ...embedderOptions(config), model: spec.id, showProgress: false });
        try {
          const [v] = await embedder.embed(['hello world']);
          const norm = Math.sqrt(v.reduce((a, x) => a + x * x, 0));
          const problems: string[] = [];
          if (v.length !== spec.dim) problems.push(`dimension ${v.length}, the registry says ${spec.dim}`);
          if (Math.abs(norm - 1) > 1e-3) problems.push(`norm ${norm.toFixed(4)}, expected 1`);
          if (!v.every(Number.isFinite)) problems.push('non-finite values in the embedding');
          for (const f of fs.readdirSync(embedder.modelDir).filter((n) => !n.startsWith('.')).sort()) {
            const file = path.join(embedder.modelDir, f);
            if (!fs.statSync(file).isFile()) continue;
            const digest = createHash('sha256').update(fs.readFileSync(file)).digest('hex');
            const known = spec.files.find((x) => x.local === f)?.sha256;
            // Pins describe the hub's files: a mismatch in the cache is corruption, in a --model-path folder a fact.
            if (known && known !== digest) {
              if (config.modelPath === undefined) problems.push(`${f}: sha256 ${digest}, expected ${known}`);
              else process.stderr.write(`note: ${f} is not the registry's pinned hub file (sha256 ${known})\n`);
            }
            write(`${f}\t${fs.statSync(file).size}\t${digest}\n`);
          }
          if (problems.length > 0) throw new Error(`model ${spec.id} failed verification:\n  ${problems.join('\n  ')}`);
          write(`ok\t${spec.id}\tdim ${v.length}\t${embedder.modelDir}\n`);
        } finally {
          await embedder.close();
        }
        return;
      }
      throw new UsageError(`unknown models subcommand '${sub}' (list, download, verify)`);
    },
  },

  bench: {
    summary: 'Quick self-benchmark: load time, throughput and single-query latency on this machine',
    usage: `fastembed-native bench [--texts <n>] [--file <path>]

Embeds n texts (default 200; from --file, one per line, or generated) and times 50 single queries.
${MODEL_HELP}`,
    async run(argv) {
      const { values } = parse(argv, { ...MODEL_OPTIONS, texts: { type: 'string', default: '200' }, file: { type: 'string', short: 'f' } });
      if (values.help) return void write(`${this.usage}\n`);
      const n = Number(values.texts);
      if (!Number.isInteger(n) || n < 1) throw new UsageError(`--texts must be a positive integer, got '${values.texts}'`);
      const words = 'the quick brown fox jumps over a lazy dog while seven wizards quietly judge boxing matches near old rivers'.split(' ');
      const texts = values.file
        ? (await readLines(values.file)).slice(0, n)
        : Array.from({ length: n }, (_, i) => Array.from({ length: 8 + ((i * 37) % 120) }, (_, j) => words[(i * 7 + j * 3) % words.length]).join(' '));
      const config = configFromArgs(values);
      let t = performance.now();
      const embedder = await Embedder.create({ ...embedderOptions(config), showProgress: false });
      const loadMs = performance.now() - t;
      try {
        t = performance.now();
        await embedder.embedMatrix(texts);
        const bulkMs = performance.now() - t;
        const lat: number[] = [];
        for (let i = 0; i < 50; i++) {
          t = performance.now();
          await embedder.embed([`single query number ${i}`]);
          lat.push(performance.now() - t);
        }
        lat.sort((a, b) => a - b);
        const r = {
          model: embedder.model,
          texts: texts.length,
          load_ms: +loadMs.toFixed(1),
          docs_per_s: +((texts.length * 1000) / bulkMs).toFixed(1),
          query_p50_ms: +lat[25].toFixed(2),
          query_p99_ms: +lat[49].toFixed(2),
        };
        write(`${JSON.stringify(r)}\n`);
      } finally {
        await embedder.close();
      }
    },
  },
};
