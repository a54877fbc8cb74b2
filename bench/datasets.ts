// Real text for the benches from ../shared/datasets.
import fs from 'node:fs';
import path from 'node:path';

/** Both sentences of every STSb train and dev pair, in file order. */
export function stsbSentences(shared: string): string[] {
  const sentences: string[] = [];
  for (const f of ['sts-train.csv', 'sts-dev.csv']) {
    for (const row of fs.readFileSync(path.join(shared, 'datasets', 'stsbenchmark', f), 'utf8').split('\n')) {
      const cols = row.split('\t');
      if (cols.length >= 7) sentences.push(cols[5], cols[6]);
    }
  }
  return sentences;
}
