// `embed`: texts from arguments (json/ndjson/npy of them, in memory), or a corpus from a file or stdin streamed
// through Embedder.embedStream into ndjson, npy or Arrow as it goes, with a progress line on a TTY, checkpoints that
// --resume continues from after a crash, and --shard i/n to split one corpus across processes or machines.
import fs from 'node:fs';
import path from 'node:path';
import { Embedder } from '../engine/embedder.js';
import { FastembedError } from '../util/errors.js';
import { configFromArgs, MODEL_HELP, MODEL_OPTIONS, parse, positiveIntOption, UsageError } from './args.js';
import { assertResumable, checkpointPath, inputFingerprint, readCheckpoint, writeCheckpoint, type RunSettings } from './checkpoint.js';
import { embedderOptions, progressBar, readDocuments, write, type Command } from './console.js';
import { corpusFormat, parseShard, readCorpus, type CorpusStats } from './corpus-reader.js';
import { formatEmbeddings, type EmbedFormat } from './output.js';
import { OutputSink, vectorWriter, type StreamFormat } from './vector-writers.js';

const FORMATS = ['json', 'ndjson', 'npy', 'arrow'];

export const embedCommand: Command = {
  summary: 'Embed texts (arguments, --file, or stdin) and print the vectors; streams a corpus of any size',
  usage: `fastembed-native embed [text ...] [--file <path|->] [--format json|ndjson|npy|arrow] [--output <file>] [--query]
                       [--text-field <name>] [--id-field <name>] [--resume] [--shard i/n]

Texts come from the arguments, else --file, else stdin. A file is read as it is embedded, never whole: memory does
not depend on its size, and rows are written as they are done (except json, which is built in memory).
  -f, --file <path>       the corpus ('-' for stdin): one text per line (.txt), JSONL (.jsonl/.ndjson, one object per
                          line) or CSV (.csv, a header row); --input-format txt|jsonl|csv overrides the extension
      --text-field <name> JSONL/CSV: the field (column) holding each text
      --id-field <name>   JSONL/CSV: a field (column) written beside each vector as its id
      --format <fmt>      json (default; in memory), ndjson (one {"index","id"?,"text","embedding"} per line), npy
                          (float32 NumPy array; rows in input order), arrow (Arrow IPC file: index, id?, vector
                          fixed_size_list<float32>; pyarrow, pandas, polars, DuckDB, LanceDB read it)
  -o, --output <file>     write there instead of stdout
      --query             embed as queries (adds the model's query prefix)
Indices: a row's index is its input line (0-based; a CSV's row after the header), never renumbered.
      --skip-empty        skip blank lines (counted on stderr) instead of failing on the first one
      --skip-bad          skip malformed JSONL/CSV records (counted on stderr) instead of failing on the first one
Long runs:
      --resume            continue an interrupted run (Ctrl-C, SIGTERM, kill -9) from its last checkpoint
                          (<output>.checkpoint, written about every --checkpoint-interval seconds, default 1);
                          refused if the input file, the model or the options changed. ndjson and npy with --output.
      --shard <i/n>       embed only shard i of n (0-based) of the file: the lines starting in its i-th n-th by
                          bytes, so n processes share one corpus (Kubernetes: --shard $JOB_COMPLETION_INDEX/n);
                          'fastembed-native merge' joins the outputs into exactly the one-process output
      --chunk-size <n>    texts per embedding call (default 512 × pool size)
${MODEL_HELP}`,
  async run(argv) {
    const { values, positionals } = parse(argv, {
      ...MODEL_OPTIONS,
      file: { type: 'string', short: 'f' },
      format: { type: 'string', default: 'json' },
      output: { type: 'string', short: 'o' },
      query: { type: 'boolean', default: false },
      'skip-empty': { type: 'boolean', default: false },
      'skip-bad': { type: 'boolean', default: false },
      'input-format': { type: 'string' },
      'text-field': { type: 'string' },
      'id-field': { type: 'string' },
      resume: { type: 'boolean', default: false },
      shard: { type: 'string' },
      'chunk-size': { type: 'string' },
      'checkpoint-interval': { type: 'string', default: '1' },
    });
    if (values.help) return void write(`${this.usage}\n`);
    const format = values.format as EmbedFormat | StreamFormat;
    if (!FORMATS.includes(format)) throw new UsageError(`--format must be json, ndjson or npy (or arrow, for a corpus from --file or stdin), got '${format}'`);
    if (positionals.length > 0 && values.file !== undefined) throw new UsageError('pass texts as arguments or with --file, not both');
    const streaming = positionals.length === 0 && format !== 'json';
    if (!streaming && (values.resume || values.shard !== undefined)) throw new UsageError('--resume and --shard need a corpus from --file or stdin and --format ndjson, npy or arrow');
    if (format === 'arrow' && positionals.length > 0) throw new UsageError('--format arrow is for corpora (--file or stdin); use json or ndjson for texts given as arguments');
    if ((format === 'npy' || format === 'arrow') && values.output === undefined && process.stdout.isTTY) {
      throw new UsageError(`refusing to write binary ${format} to a terminal; use --output or a pipe`);
    }
    const config = configFromArgs(values);
    const chunkSize = positiveIntOption(values['chunk-size'], 'chunk-size');
    const interval = Number(values['checkpoint-interval']);
    if (!(interval >= 0)) throw new UsageError(`--checkpoint-interval must be a number of seconds ≥ 0, got '${values['checkpoint-interval']}'`);

    if (!streaming) {
      const file = values.file ?? '-';
      const texts = positionals.length > 0 ? positionals : await readDocuments(file, { skipEmpty: values['skip-empty'], textField: values['text-field'] });
      if (texts.length === 0) throw new UsageError('no texts to embed: pass them as arguments, with --file, or on stdin');
      const embedder = await Embedder.create(embedderOptions(config));
      try {
        const input = values.query ? texts.map((t) => embedder.queryPrefix + t) : texts;
        const m = await embedder.embedMatrix(input, { onProgress: progressBar('embedding') });
        const out = formatEmbeddings(texts, m, format as EmbedFormat, embedder.model);
        if (values.output) fs.writeFileSync(values.output, out);
        else write(out);
      } finally {
        await embedder.close();
      }
      return;
    }

    const file = values.file ?? '-';
    const inputFormat = corpusFormat(file, values['input-format'], values['text-field']);
    const shard = parseShard(values.shard);
    const output = values.output;
    if (values.resume && (output === undefined || file === '-')) throw new UsageError('--resume needs --file and --output: it re-reads the input from where the output ends');
    if (values['id-field'] !== undefined && format === 'npy') throw new UsageError('--id-field: a .npy file holds only the vectors (row r is record r); use ndjson or arrow to keep ids');
    if (values.resume && format === 'arrow') throw new UsageError('an Arrow file cannot be resumed (its footer is written at the end); use ndjson or npy with --resume');
    if (file !== '-' && !fs.existsSync(file)) throw new UsageError(`${file} does not exist`);
    const cpFile = output !== undefined && format !== 'arrow' && file !== '-' ? checkpointPath(output) : undefined;
    const checkpoint = cpFile ? readCheckpoint(cpFile) : undefined;
    if (checkpoint && !values.resume) {
      throw new UsageError(`${output} is an unfinished run (${checkpoint.rows} rows, checkpoint ${cpFile}): pass --resume to continue it, or delete both to start over`);
    }
    if (values.resume && !checkpoint && output !== undefined && fs.existsSync(output)) {
      throw new UsageError(`${output} exists but has no checkpoint (${cpFile}): it is finished or not from a resumable run; delete it or choose another --output`);
    }

    // Progress, interruption and a closed stdout. Ctrl-C / SIGTERM stop after the current chunk is written and
    // checkpointed; a second Ctrl-C ends the process at once.
    const controller = new AbortController();
    let interrupted: string | undefined;
    const onSignal = (signal: NodeJS.Signals) => {
      if (interrupted) process.exit(130);
      interrupted = signal;
      controller.abort();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    if (output === undefined) process.stdout.on('error', closedStdout);

    const embedder = await Embedder.create(embedderOptions(config));
    try {
      const settings: RunSettings = {
        input: path.resolve(file),
        inputFormat,
        format,
        textField: values['text-field'] ?? null,
        idField: values['id-field'] ?? null,
        shard: shard ? `${shard.index}/${shard.count}` : null,
        query: values.query,
        skipEmpty: values['skip-empty'],
        skipBad: values['skip-bad'],
        model: embedder.fingerprint,
      };
      const fingerprint = cpFile ? inputFingerprint(file) : undefined;
      if (checkpoint) assertResumable(checkpoint, settings, fingerprint!, file, output!);
      const stats: CorpusStats = { blank: checkpoint?.blank ?? 0, bad: checkpoint?.bad ?? 0, bytesRead: 0, bytesTotal: 0 };
      const records = readCorpus(
        {
          file,
          format: inputFormat,
          textField: values['text-field'],
          idField: values['id-field'],
          skipEmpty: values['skip-empty'],
          skipBad: values['skip-bad'],
          shard,
          startIndex: checkpoint?.nextIndex,
        },
        stats,
      );
      // What each record carries besides its text, in the order embedStream yields them back (it keeps input order),
      // with the skip counts as they stood when it was read (a checkpoint after it counts the skips before it only).
      const pending: Array<{ index: number; id?: string | number; blank: number; bad: number }> = [];
      async function* texts(): AsyncGenerator<string> {
        for await (const r of records) {
          pending.push({ index: r.index, id: r.id, blank: stats.blank, bad: stats.bad });
          yield r.text;
        }
      }
      const sink = await OutputSink.open(output, checkpoint?.bytes);
      const writer = await vectorWriter(format as StreamFormat, sink, { rows: checkpoint?.rows, dim: embedder.dim, withIds: values['id-field'] !== undefined });
      // A kill between rewriting the .npy header and writing the checkpoint leaves a header ahead of the rows kept.
      if (checkpoint) await writer.checkpoint();
      const started = performance.now();
      const startRows = writer.rows;
      let last = checkpoint;
      let lastSaved = performance.now();
      const save = async (): Promise<void> => {
        if (!cpFile || !last) return;
        await writer.checkpoint(); // the rows (and the npy header) durable before the checkpoint names them
        writeCheckpoint(cpFile, { ...last, bytes: sink.bytes, rows: writer.rows });
        lastSaved = performance.now();
      };
      const progress = progressLine(stats, startRows);
      let complete = false;
      try {
        const stream = embedder.embedStream(texts(), { chunkSize, signal: controller.signal, prefix: values.query ? embedder.queryPrefix : '' });
        for await (const chunk of stream) {
          const meta = pending.splice(0, chunk.rows);
          const ids = values['id-field'] !== undefined ? meta.map((m) => m.id ?? m.index) : undefined;
          await writer.write({ indices: meta.map((m) => m.index), ids, texts: chunk.texts, data: chunk.data, rows: chunk.rows, dim: chunk.dim });
          const end = meta.at(-1)!;
          last = { version: 1, settings, fingerprint: fingerprint!, rows: writer.rows, bytes: sink.bytes, dim: chunk.dim, nextIndex: end.index + 1, blank: end.blank, bad: end.bad };
          if (performance.now() - lastSaved >= interval * 1000) await save();
          progress?.(writer.rows);
        }
        complete = true;
      } catch (err) {
        const cause = (err as Error)?.cause;
        if (interrupted && (err as Error)?.name === 'AbortError') {
          await save();
          await sink.close();
          const resume = cpFile ? `; run the same command with --resume to continue` : '';
          throw new FastembedError(`interrupted by ${interrupted} after ${writer.rows} rows${output ? ` written to ${output}` : ''}${resume}`, 'ERR_INTERRUPTED');
        }
        // Keep what was written resumable; a failing disk may fail this too, and then the first error is the one to tell.
        await save().catch(() => {});
        await sink.close().catch(() => {});
        throw cause instanceof UsageError ? cause : err;
      } finally {
        progress?.(writer.rows, true, complete);
      }
      await writer.finish();
      if (cpFile) fs.rmSync(cpFile, { force: true });
      const seconds = (performance.now() - started) / 1000;
      const skipped = [stats.blank ? `${stats.blank} blank` : '', stats.bad ? `${stats.bad} bad` : ''].filter(Boolean).join(' and ');
      const unit = inputFormat === 'csv' ? 'row' : 'line';
      process.stderr.write(
        `embedded ${writer.rows} rows${output ? ` into ${output}` : ''}${startRows ? ` (${startRows} of them before the resume)` : ''} in ${seconds.toFixed(1)} s` +
          `${skipped ? `; skipped ${skipped} ${unit}${stats.blank + stats.bad === 1 ? '' : 's'} of ${file === '-' ? 'stdin' : file} (the others keep their ${unit} numbers as indices)` : ''}\n`,
      );
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await embedder.close();
    }
  },
};

/** `| head` closed stdout: nothing more can be written, so the process ends at once, quietly. */
function closedStdout(err: NodeJS.ErrnoException): void {
  if (err.code !== 'EPIPE') process.stderr.write(`fastembed-native embed: cannot write to stdout: ${err.message}\n`);
  process.exit(err.code === 'EPIPE' ? 0 : 1);
}

/** A progress line on a TTY stderr: rows, rate and, for a file, an ETA from the bytes read. Nothing otherwise. */
function progressLine(stats: CorpusStats, startRows: number): ((rows: number, final?: boolean, complete?: boolean) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  const started = performance.now();
  let shown = 0;
  return (rows, final = false, complete = false) => {
    const now = performance.now();
    if (!final && now - shown < 250) return;
    shown = now;
    const rate = ((rows - startRows) * 1000) / Math.max(1, now - started);
    const share = stats.bytesTotal > 0 ? (complete ? 1 : stats.bytesRead / stats.bytesTotal) : 0;
    const eta = share > 0 && share < 1 ? ` ETA ${clock(((now - started) / 1000) * ((1 - share) / share))}` : '';
    const pct = share > 0 ? ` ${(100 * share).toFixed(1)}%` : '';
    process.stderr.write(`\rembedding: ${rows} rows${pct} ${rate.toFixed(1)}/s${eta}   ${final ? '\n' : ''}`);
  };
}

function clock(seconds: number): string {
  const s = Math.round(seconds);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}
