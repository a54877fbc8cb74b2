// What every CLI command shares: stdout, stdin and text files in, a progress bar on a TTY, and the Embedder options
// a command derives from its flags.
import fs from 'node:fs';
import { embedderOptionsFrom, type SimilarityConfig } from '../service/config.js';

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
export async function readLines(file: string): Promise<string[]> {
  const text = file === '-' ? await readStdin() : fs.readFileSync(file, 'utf8');
  return text.split(/\r?\n/).filter((l) => l.trim().length > 0);
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
