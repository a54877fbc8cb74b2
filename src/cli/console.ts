// What every CLI command shares: stdout, stdin and text files in, a progress bar on a TTY, and the Embedder options
// a command derives from its flags.
import fs from 'node:fs';
import { embedderOptionsFrom, type SimilarityConfig } from '../service/config.js';
import { UsageError } from './args.js';
import { jsonlRecord } from './corpus-reader.js';

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

/**
 * The lines of a file ('-' = stdin), one text each; a final newline ends the last line. A blank line is an error
 * naming it (so output index i is always line i + 1), unless `skipEmpty`, which drops them and says how many.
 */
export async function readLines(file: string, skipEmpty = false): Promise<string[]> {
  const text = file === '-' ? await readStdin() : fs.readFileSync(file, 'utf8');
  const lines = text.split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  const blank = lines.flatMap((l, i) => (l.trim().length === 0 ? [i + 1] : []));
  if (blank.length === 0) return lines;
  const where = file === '-' ? 'stdin' : file;
  if (!skipEmpty) {
    throw new UsageError(
      `line ${blank[0]} of ${where} is blank${blank.length > 1 ? ` (and ${blank.length - 1} more)` : ''}: each line is one text, and ` +
        "output index i is line i + 1; remove blank lines, or pass --skip-empty to drop them (the index then counts texts, not lines)",
    );
  }
  process.stderr.write(`skipped ${blank.length} blank line${blank.length === 1 ? '' : 's'} of ${where}: output indices count texts, not lines\n`);
  return lines.filter((l) => l.trim().length > 0);
}

/**
 * Documents of a text file (one per line, as readLines) or, with `textField`, of a JSONL file: one JSON object per
 * line, the document its `textField` string. A line that is not such an object is an error naming it.
 */
export async function readDocuments(file: string, options: { skipEmpty?: boolean; textField?: string } = {}): Promise<string[]> {
  const lines = await readLines(file, options.skipEmpty);
  const field = options.textField;
  if (field === undefined) return lines;
  return lines.map((line, i) => {
    const record = jsonlRecord(line, i + 1, file, field);
    if (typeof record === 'string') throw new UsageError(record);
    return record.text;
  });
}

export function embedderOptions(c: SimilarityConfig) {
  return { ...embedderOptionsFrom(c), showProgress: true };
}

export function progressBar(label: string): ((done: number, total: number) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  return (done, total) => {
    const pct = Math.round((100 * done) / total);
    process.stderr.write(`\r${label} [${'#'.repeat(pct / 4).padEnd(25, '.')}] ${done}/${total}`);
    if (done === total) process.stderr.write('\n');
  };
}

export const write = (s: string | Buffer) => process.stdout.write(s);
