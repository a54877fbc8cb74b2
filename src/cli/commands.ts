// The CLI's commands. Each takes its argv (after the command name) and writes to stdout/stderr.
import { Embedder } from '../engine/embedder.js';
import { exportBertCheckpoint } from '../models/bert-export.js';
import { SimilarityService, type SearchMode } from '../service/service.js';
import { configFromArgs, MODEL_HELP, MODEL_OPTIONS, parse, UsageError } from './args.js';
import { embedderOptions, readDocuments, readLines, write, type Command } from './console.js';
import { embedCommand } from './embed-command.js';
import { mergeCommand } from './merge-command.js';
import { modelsCommand } from './models-command.js';
import { serveCommand } from './serve-command.js';


export const commands: Record<string, Command> = {
  embed: embedCommand,

  merge: mergeCommand,

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
    summary: 'The k documents of a file best matching a query: by embeddings, BM25, or both',
    usage: `fastembed-native search --query <text> --file <docs.txt|docs.jsonl|-> [-k 5] [--mode dense|lexical|hybrid] [--json]

  -q, --query <text>      the query
  -f, --file <path>       documents, one per line ('-' for stdin); a blank line is an error naming it (a result's
                          index is its line number - 1), unless --skip-empty drops them
      --text-field <name> the file is JSONL: each line an object whose <name> field is the document
  -k, --top-k <n>         how many results (default 5)
      --mode <m>          dense (embeddings' cosine, the default), lexical (BM25; no model is loaded) or hybrid
                          (both: alpha × dense + (1 − alpha) × BM25, scores min-max normalised)
      --alpha <a>         hybrid: the dense share (default 0.7)
      --rrf-k <n>         hybrid: Reciprocal Rank Fusion instead, with this rank constant (60 is usual)
${MODEL_HELP}`,
    async run(argv) {
      const { values } = parse(argv, {
        ...MODEL_OPTIONS,
        query: { type: 'string', short: 'q' },
        file: { type: 'string', short: 'f' },
        'text-field': { type: 'string' },
        'top-k': { type: 'string', short: 'k', default: '5' },
        mode: { type: 'string', default: 'dense' },
        'rrf-k': { type: 'string' },
        alpha: { type: 'string' },
        json: { type: 'boolean', default: false },
        'skip-empty': { type: 'boolean', default: false },
      });
      if (values.help) return void write(`${this.usage}\n`);
      if (values.query === undefined) throw new UsageError('--query is required');
      if (values.file === undefined) throw new UsageError('--file is required (one document per line, - for stdin)');
      const k = Number(values['top-k']);
      if (!Number.isInteger(k) || k < 1) throw new UsageError(`-k must be a positive integer, got '${values['top-k']}'`);
      const mode = values.mode as SearchMode;
      if (!['dense', 'lexical', 'hybrid'].includes(mode)) throw new UsageError(`--mode must be dense, lexical or hybrid, got '${values.mode}'`);
      const number = (flag: 'rrf-k' | 'alpha') => {
        const raw = values[flag];
        if (raw === undefined) return undefined;
        if (mode !== 'hybrid') throw new UsageError(`--${flag} applies to --mode hybrid only`);
        if (raw.trim() === '' || !Number.isFinite(Number(raw))) throw new UsageError(`--${flag} must be a number, got '${raw}'`);
        return Number(raw);
      };
      const fusion = { rrfK: number('rrf-k'), alpha: number('alpha') };
      const docs = await readDocuments(values.file, { skipEmpty: values['skip-empty'], textField: values['text-field'] });
      // One-shot commands fail when the named model can't load, unless --fallback asks for Jaccard answers. Lexical
      // search needs no model, so none is loaded.
      const config = { ...configFromArgs(values), fallback: values.fallback === true };
      const service = mode === 'lexical' ? new SimilarityService(config) : await SimilarityService.create(config);
      try {
        let results;
        try {
          results = await service.findMostSimilar(values.query, docs, k, { mode, ...fusion });
        } catch (err) {
          throw err instanceof RangeError ? new UsageError(err.message) : err;
        }
        if (values.json) write(`${JSON.stringify({ query: values.query, mode, results })}\n`);
        else for (const r of results) write(`${r.similarity.toFixed(4)}\t${r.index}\t${r.text}\n`);
      } finally {
        await service.close();
      }
    },
  },

  serve: serveCommand,

  convert: {
    summary: 'Export a BERT checkpoint (config.json + model.safetensors) to a model directory, no Python needed',
    usage: `fastembed-native convert <checkpoint-dir> <out-dir>

Writes <out-dir>/model.onnx (fp32) and copies the tokenizer files and the checkpoint's sentence-transformers
recipe (modules.json, sentence_bert_config.json, 1_Pooling/config.json, config_sentence_transformers.json), so
--model-path <out-dir> embeds as sentence-transformers does: same max length, pooling and prompts, no flags.
The checkpoint is a folder as sentence-transformers or Hugging Face save a BertModel (all-MiniLM-L6-v2, BGE, e5).`,
    async run(argv) {
      const { values, positionals } = parse(argv, { help: { type: 'boolean', short: 'h' } });
      if (values.help) return void write(`${this.usage}\n`);
      if (positionals.length !== 2) throw new UsageError(`convert takes a checkpoint folder and an output folder, got ${positionals.length} arguments`);
      write(`${exportBertCheckpoint(positionals[0], positionals[1])}\n`);
    },
  },

  models: modelsCommand,

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
        ? (await readLines(values.file, true)).slice(0, n)
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
