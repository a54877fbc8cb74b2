// `merge`: the outputs of `embed --shard i/n` (i = 0 … n-1), joined in shard order into exactly the file one process
// would have written: NDJSON concatenated, .npy rows concatenated under one header, Arrow record batches copied into
// one IPC file. Streams: memory does not depend on the sizes.
import fs from 'node:fs';
import { parse, UsageError } from './args.js';
import { loadArrow } from './arrow.js';
import { checkpointPath } from './checkpoint.js';
import { write, type Command } from './console.js';
import { npyHeader } from './output.js';
import { OutputSink } from './vector-writers.js';

function formatOf(file: string, explicit: string | undefined): 'ndjson' | 'npy' | 'arrow' {
  const f = explicit ?? /\.(ndjson|jsonl|npy|arrow|feather)$/i.exec(file)?.[1].toLowerCase();
  if (f === 'ndjson' || f === 'jsonl') return 'ndjson';
  if (f === 'npy') return 'npy';
  if (f === 'arrow' || f === 'feather') return 'arrow';
  throw new UsageError(`can't tell the format of ${file}; pass --format ndjson, npy or arrow`);
}

/** A .npy file's row count, dimension and where its data starts (float32, C order, 2-D only). */
function npyShape(file: string): { rows: number; dim: number; dataStart: number } {
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(10);
    fs.readSync(fd, head, 0, 10, 0);
    if (head.toString('latin1', 0, 6) !== '\x93NUMPY' || head[6] !== 1) throw new UsageError(`${file} is not a .npy file (format 1.0)`);
    const length = head.readUInt16LE(8);
    const dict = Buffer.alloc(length);
    fs.readSync(fd, dict, 0, length, 10);
    const m = /'descr': '<f4', 'fortran_order': False, 'shape': \((\d+), (\d+)\)/.exec(dict.toString('latin1'));
    if (!m) throw new UsageError(`${file} is not a 2-D float32 .npy file as 'embed --format npy' writes`);
    return { rows: Number(m[1]), dim: Number(m[2]), dataStart: 10 + length };
  } finally {
    fs.closeSync(fd);
  }
}

async function copy(file: string, start: number, sink: OutputSink): Promise<void> {
  for await (const chunk of fs.createReadStream(file, { start, highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) await sink.write(chunk);
}

export const mergeCommand: Command = {
  summary: "Join the outputs of 'embed --shard i/n' into the one-process output",
  usage: `fastembed-native merge <shard-0> <shard-1> ... [--output <file>] [--format ndjson|npy|arrow]

Give the shard outputs in shard order (0 first). The result equals what one 'embed' process writes for the whole
input, row for row and byte for byte. The format comes from the file names (.ndjson/.jsonl, .npy, .arrow) unless
--format says it. A shard whose run is unfinished (it still has its .checkpoint) is refused.
  -o, --output <file>     write there instead of stdout`,
  async run(argv) {
    const { values, positionals } = parse(argv, { output: { type: 'string', short: 'o' }, format: { type: 'string' }, help: { type: 'boolean', short: 'h' } });
    if (values.help) return void write(`${this.usage}\n`);
    if (positionals.length === 0) throw new UsageError('merge takes the shard outputs to join, in shard order');
    const format = formatOf(positionals[0], values.format);
    for (const part of positionals) {
      if (!fs.existsSync(part)) throw new UsageError(`${part} does not exist`);
      if (fs.existsSync(checkpointPath(part))) throw new UsageError(`${part} is unfinished (it has a checkpoint): finish that shard with 'embed … --resume' first`);
      if (values.output !== undefined && fs.existsSync(values.output) && fs.realpathSync(part) === fs.realpathSync(values.output)) {
        throw new UsageError(`--output ${values.output} is one of the inputs`);
      }
    }
    if (format !== 'ndjson' && values.output === undefined && process.stdout.isTTY) throw new UsageError(`refusing to write binary ${format} to a terminal; use --output or a pipe`);
    const sink = await OutputSink.open(values.output);
    let rows = 0;
    if (format === 'ndjson') {
      for (const part of positionals) await copy(part, 0, sink);
    } else if (format === 'npy') {
      const shapes = positionals.map(npyShape);
      const dim = shapes[0].dim;
      const odd = shapes.findIndex((s) => s.dim !== dim);
      if (odd !== -1) throw new UsageError(`${positionals[odd]} has ${shapes[odd].dim} columns, ${positionals[0]} has ${dim}: not shards of one run`);
      rows = shapes.reduce((n, s) => n + s.rows, 0);
      await sink.write(npyHeader(rows, dim));
      for (const [i, part] of positionals.entries()) await copy(part, shapes[i].dataStart, sink);
    } else {
      const { RecordBatchFileWriter, RecordBatchReader } = await loadArrow();
      const writer = new RecordBatchFileWriter();
      const pump = (async () => {
        for await (const bytes of writer) await sink.write(bytes);
      })();
      let schema: string | undefined;
      for (const part of positionals) {
        const reader = await RecordBatchReader.from(fs.createReadStream(part));
        for await (const batch of reader) {
          const names = batch.schema.fields.map((f) => `${f.name}:${f.type}`).join(',');
          if (schema !== undefined && names !== schema) throw new UsageError(`${part} has columns ${names}, the first shard ${schema}: not shards of one run`);
          schema = names;
          writer.write(batch);
          rows += batch.numRows;
        }
      }
      writer.finish();
      await pump;
    }
    await sink.sync();
    await sink.close();
    process.stderr.write(`merged ${positionals.length} files${format === 'ndjson' ? '' : ` (${rows} rows)`}${values.output ? ` into ${values.output}` : ''}\n`);
  },
};
