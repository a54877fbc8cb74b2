// A corpus read as a stream of records, one at a time, never the whole file: plain text (one text per line), JSONL
// (one object per line, --text-field) or CSV (a header row, --text-field names a column; csv-parse). Every record
// keeps its position in the input (`index`: the 0-based line of a text or JSONL file, the 0-based row of a CSV file
// after its header), so skipping blank or bad lines never renumbers the rest.
//
// A shard i/n is a byte range of the file, [size × i / n, size × (i + 1) / n): it holds the records that start in
// it, so n readers split a file without a pre-scan, and their outputs concatenated in shard order are exactly one
// reader's output. Text and JSONL shards seek to their range; CSV shards parse from the start (a quoted field may
// hold newlines, so a line start is not a record start) and keep the records that start in their range.
import fs from 'node:fs';
import { parse as parseCsv } from 'csv-parse';
import { UsageError } from './args.js';

export type CorpusFormat = 'txt' | 'jsonl' | 'csv';

export interface CorpusRecord {
  /** 0-based line (text, JSONL) or row after the header (CSV). */
  index: number;
  id?: string | number;
  text: string;
}

export interface Shard {
  /** 0-based. */
  index: number;
  count: number;
}

export interface CorpusOptions {
  /** A path, or '-' for stdin. */
  file: string;
  format: CorpusFormat;
  textField?: string;
  idField?: string;
  /** Skip blank lines (counted) instead of failing on the first one. */
  skipEmpty?: boolean;
  /** Skip malformed JSONL/CSV records (counted) instead of failing on the first one. */
  skipBad?: boolean;
  shard?: Shard;
  /** Records with a smaller index are skipped unread (a resumed run). */
  startIndex?: number;
}

/** What a reader has seen so far: counts for the final report, bytes for the progress bar's ETA. */
export interface CorpusStats {
  blank: number;
  bad: number;
  /** Bytes of the input read so far, and how many the shard spans (0 for stdin: unknown). */
  bytesRead: number;
  bytesTotal: number;
}

const where = (file: string) => (file === '-' ? 'stdin' : file);

/** The format a file's name suggests: .jsonl/.ndjson → jsonl, .csv → csv; otherwise jsonl with --text-field, else txt. */
export function corpusFormat(file: string, explicit: string | undefined, textField: string | undefined): CorpusFormat {
  if (explicit !== undefined) {
    if (explicit !== 'txt' && explicit !== 'jsonl' && explicit !== 'csv') throw new UsageError(`--input-format must be txt, jsonl or csv, got '${explicit}'`);
    return explicit;
  }
  if (/\.(jsonl|ndjson)$/i.test(file)) return 'jsonl';
  if (/\.csv$/i.test(file)) return 'csv';
  return textField !== undefined ? 'jsonl' : 'txt';
}

/** `--shard i/n` (0 ≤ i < n). */
export function parseShard(value: string | undefined): Shard | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d+)\/(\d+)$/.exec(value.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index >= count) throw new UsageError(`--shard must be i/n with 0 ≤ i < n (e.g. 0/4, or $JOB_COMPLETION_INDEX/4), got '${value}'`);
  return { index, count };
}

/** The bytes [start, end) of a shard of a file of `size` bytes. */
export function shardRange(size: number, shard: Shard | undefined): [number, number] {
  if (!shard) return [0, size];
  return [Math.floor((size * shard.index) / shard.count), Math.floor((size * (shard.index + 1)) / shard.count)];
}

/**
 * A JSONL line's text (its `textField` string) and id (its `idField` string or number, when asked for), or the
 * reason it is not a usable record. `line` is 1-based, for the message.
 */
export function jsonlRecord(text: string, line: number, file: string, textField: string, idField?: string): { text: string; id?: string | number } | string {
  let record: unknown;
  try {
    record = JSON.parse(text);
  } catch (err) {
    return `line ${line} of ${where(file)} is not JSON (${(err as Error).message}); --text-field reads JSONL, one object per line`;
  }
  return fieldsOf(record, `line ${line} of ${where(file)}`, textField, idField);
}

function fieldsOf(record: unknown, at: string, textField: string, idField?: string): { text: string; id?: string | number } | string {
  const fields = record !== null && typeof record === 'object' ? (record as Record<string, unknown>) : undefined;
  const text = fields?.[textField];
  if (typeof text !== 'string') return `${at} has no string field '${textField}' (--text-field names the field holding each document's text)`;
  if (idField === undefined) return { text };
  const id = fields![idField];
  if (typeof id !== 'string' && typeof id !== 'number') return `${at} has no string or number field '${idField}' (--id-field names the field holding each record's id)`;
  return { text, id };
}

/** Reads the corpus as records, counting into `stats`. Errors are UsageErrors naming the line. */
export function readCorpus(options: CorpusOptions, stats: CorpusStats): AsyncGenerator<CorpusRecord> {
  if (options.format !== 'txt' && options.textField === undefined) throw new UsageError(`--text-field is required for ${options.format} input: it names the field holding each text`);
  if (options.format === 'txt' && options.idField !== undefined) throw new UsageError('--id-field applies to JSONL or CSV input (with --text-field)');
  if (options.file === '-' && options.shard) throw new UsageError('--shard needs a file: n processes each read their own byte range of it, which stdin has not');
  return options.format === 'csv' ? csvRecords(options, stats) : lineRecords(options, stats);
}

/** The shard's byte range of the file ([0, ∞) for stdin); its length goes to `stats` for the progress line. */
function inputRange(options: CorpusOptions, stats: CorpusStats): [number, number] {
  if (options.file === '-') return [0, Infinity];
  const range = shardRange(fs.statSync(options.file).size, options.shard);
  stats.bytesTotal = range[1] - range[0];
  return range;
}

/** Counts newline bytes in [0, end) of a file. */
async function countLines(file: string, end: number): Promise<number> {
  if (end <= 0) return 0;
  let n = 0;
  for await (const chunk of fs.createReadStream(file, { start: 0, end: end - 1, highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) n++;
  }
  return n;
}

/** Lines of a byte stream, split on \n (a \r before it dropped), each with the offset of its first byte. */
async function* splitLines(input: AsyncIterable<Buffer>, firstOffset: number): AsyncGenerator<{ text: string; start: number }> {
  let parts: Buffer[] = [];
  let lineStart = firstOffset;
  let offset = firstOffset;
  for await (const chunk of input) {
    let from = 0;
    for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, from)) {
      parts.push(chunk.subarray(from, nl));
      const line = parts.length === 1 ? parts[0] : Buffer.concat(parts);
      parts = [];
      const end = line.length > 0 && line[line.length - 1] === 13 ? line.length - 1 : line.length;
      yield { text: line.toString('utf8', 0, end), start: lineStart };
      from = nl + 1;
      lineStart = offset + from;
    }
    if (from < chunk.length) parts.push(chunk.subarray(from));
    offset += chunk.length;
  }
  if (parts.length > 0) {
    const line = Buffer.concat(parts);
    const end = line[line.length - 1] === 13 ? line.length - 1 : line.length;
    if (line.length > 0) yield { text: line.toString('utf8', 0, end), start: lineStart };
  }
}

async function* lineRecords(options: CorpusOptions, stats: CorpusStats): AsyncGenerator<CorpusRecord> {
  const { file, textField, idField, startIndex = 0 } = options;
  let input: AsyncIterable<Buffer>;
  let [first, end] = inputRange(options, stats);
  let index = 0;
  let dropFirst = false;
  if (file === '-') {
    input = process.stdin;
  } else {
    // A shard starting mid-file begins one byte early and drops its first line: that line started in the shard
    // before (or is the empty remainder of a line ending just before `first`).
    if (first > 0) {
      index = (await countLines(file, first - 1)) + 1;
      first -= 1;
      dropFirst = true;
    }
    input = fs.createReadStream(file, { start: first, highWaterMark: 1 << 20 });
  }
  try {
    for await (const line of splitLines(input, first)) {
      if (dropFirst) {
        dropFirst = false;
        continue;
      }
      if (line.start >= end) break;
      stats.bytesRead = line.start - first;
      const i = index++;
      if (i < startIndex) continue;
      if (line.text.trim().length === 0) {
        if (!options.skipEmpty) {
          throw new UsageError(
            `line ${i + 1} of ${where(file)} is blank: each line is one text, and output index i is line i + 1; remove blank lines, or pass --skip-empty to skip them (the other lines keep their line numbers as indices)`,
          );
        }
        stats.blank++;
        continue;
      }
      if (textField === undefined) {
        yield { index: i, text: line.text };
        continue;
      }
      const record = jsonlRecord(line.text, i + 1, file, textField, idField);
      if (typeof record === 'string') {
        if (!options.skipBad) throw new UsageError(`${record}; fix it, or pass --skip-bad to skip such lines (counted at the end)`);
        stats.bad++;
        continue;
      }
      yield { index: i, ...record };
    }
  } finally {
    if (input !== process.stdin) (input as fs.ReadStream).destroy();
  }
}

async function* csvRecords(options: CorpusOptions, stats: CorpusStats): AsyncGenerator<CorpusRecord> {
  const { file, textField, idField, startIndex = 0 } = options;
  const [first, end] = inputRange(options, stats);
  const input: NodeJS.ReadableStream = file === '-' ? process.stdin : fs.createReadStream(file, { highWaterMark: 1 << 20 });
  const skipped: string[] = [];
  const parser = parseCsv({ columns: true, bom: true, info: true, relax_column_count: false, skip_records_with_error: options.skipBad === true });
  parser.on('skip', (err: Error) => skipped.push(err.message));
  input.pipe(parser);
  let index = 0;
  let recordStart = 0; // the header goes with shard 0's first record
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: Record<string, unknown>; info: { bytes: number; lines: number } }>) {
      stats.bad += skipped.length;
      skipped.length = 0;
      const start = recordStart;
      recordStart = info.bytes;
      const i = index++;
      if (start >= end) break;
      if (start < first) continue;
      stats.bytesRead = info.bytes - first;
      if (i < startIndex) continue;
      const text = record[textField!];
      if (typeof text === 'string' && text.trim().length === 0) {
        if (!options.skipEmpty) throw new UsageError(`row ${i + 1} (line ${info.lines}) of ${where(file)} has an empty '${textField}'; pass --skip-empty to skip such rows (the others keep their row numbers as indices)`);
        stats.blank++;
        continue;
      }
      const fields = fieldsOf(record, `row ${i + 1} (line ${info.lines}) of ${where(file)}`, textField!, idField);
      if (typeof fields === 'string') {
        if (!options.skipBad) throw new UsageError(`${fields}; fix it, or pass --skip-bad to skip such rows (counted at the end)`);
        stats.bad++;
        continue;
      }
      yield { index: i, ...fields };
    }
    stats.bad += skipped.length;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`${where(file)} is not valid CSV: ${(err as Error).message}; fix it, or pass --skip-bad to skip bad rows (counted at the end)`);
  } finally {
    if (input !== process.stdin) (input as fs.ReadStream).destroy();
    parser.destroy();
  }
}
