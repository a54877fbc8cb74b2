// `models`: the registry (list), the cache (download) and a check of a model's files and output (verify).
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { Embedder } from '../engine/embedder.js';
import { ensureModelDir } from '../models/loader.js';
import { getModelSpec, MODEL_ALIASES, MODELS } from '../models/registry.js';
import { FastembedError } from '../util/errors.js';
import { configFromArgs, MODEL_OPTIONS, parse, UsageError } from './args.js';
import { embedderOptions, write, type Command } from './console.js';

export const modelsCommand: Command = {
  summary: 'list | download <id> | verify <id>: the model registry and cache',
  usage: `fastembed-native models list [--json]
fastembed-native models download <id> [--cache-dir <dir>]
fastembed-native models verify <id> [--cache-dir <dir> | --model-path <dir>]

verify loads the model (cached files are checked against the registry's sha256 pins), embeds a sentence, checks the
dimension and unit norm, and prints file sizes and sha256. A failure is one line on stderr and exit code 1.`,
  async run(argv) {
    const { values, positionals } = parse(argv, { ...MODEL_OPTIONS, json: { type: 'boolean', default: false } });
    const [sub, id] = positionals;
    if (values.help || !sub) return void write(`${this.usage}\n`);
    const config = configFromArgs(values);
    if (sub === 'list') {
      // What each model is, the other names that reach it, and whether it is in this cache (no download needed).
      const rows = MODELS.map((m) => ({
        ...m,
        aliases: Object.keys(MODEL_ALIASES).filter((a) => MODEL_ALIASES[a] === m.id),
        cached: fs.existsSync(path.join(config.cacheDir, m.id, 'model.onnx')),
      }));
      if (values.json) return void write(`${JSON.stringify(rows, null, 2)}\n`);
      write('id\tdim\tpooling\tmax_len\tlanguage\tsize_mb\tquery_prefix\tpassage_prefix\taliases\tcached\trevision\tsha256\n');
      for (const m of rows) {
        const pinned = m.files[0].sha256 ? 'pinned' : 'unknown';
        const prefixes = `${JSON.stringify(m.queryPrefix)}\t${JSON.stringify(m.passagePrefix)}`;
        write(`${m.id}\t${m.dim}\t${m.pooling}\t${m.maxLength}\t${m.language}\t${m.sizeMb}\t${prefixes}\t${m.aliases.join(',') || '-'}\t${m.cached ? 'yes' : 'no'}\t${m.revision ?? 'main'}\t${pinned}\n`);
      }
      write(`cache: ${config.cacheDir}\n`);
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
          // Pins describe the hub's files: the cache's were checked against them as the model loaded (a mismatch
          // stops it there); a --model-path folder holds the user's own files, which may well differ.
          if (known && known !== digest) process.stderr.write(`note: ${f} is not the registry's pinned hub file (sha256 ${known})\n`);
          write(`${f}\t${fs.statSync(file).size}\t${digest}\n`);
        }
        // A FastembedError: main prints its message as one line, with no stack trace, and exits 1.
        if (problems.length > 0) throw new FastembedError(`model ${spec.id} failed verification: ${problems.join('; ')}`, 'ERR_VERIFY');
        write(`ok\t${spec.id}\tdim ${v.length}\t${embedder.modelDir}\n`);
      } finally {
        await embedder.close();
      }
      return;
    }
    throw new UsageError(`unknown models subcommand '${sub}' (list, download, verify)`);
  },
};
