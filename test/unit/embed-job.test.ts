// deploy/k8s-jobs/embed-job.yaml: an Indexed Job whose pods each embed their shard. No cluster here: check it
// parses, that N agrees in completions, parallelism and --shard, that each pod resumes its own part, and that every
// flag it passes is one the real CLI's `embed` accepts.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { expect, test } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

test('the embedding Job: Indexed, N consistent, one resumable part per index, flags the CLI knows', () => {
  const docs = parseAllDocuments(fs.readFileSync(path.join(root, 'deploy/k8s-jobs/embed-job.yaml'), 'utf8'));
  expect(docs.flatMap((d) => d.errors)).toEqual([]);
  const [job] = docs.map((d) => d.toJS());
  expect(job.kind).toBe('Job');
  expect(job.apiVersion).toBe('batch/v1');
  const spec = job.spec;
  expect(spec.completionMode).toBe('Indexed');
  expect(spec.parallelism).toBe(spec.completions);
  expect(spec.template.spec.restartPolicy).toBe('Never'); // podFailurePolicy requires it
  const script: string = spec.template.spec.containers[0].args.join(' ');
  expect(script).toContain(`--shard "$JOB_COMPLETION_INDEX/${spec.completions}"`);
  expect(script).toMatch(/--output \S*part-\$\(printf %05d "\$JOB_COMPLETION_INDEX"\)\.npy/);
  expect(script).toContain('--resume');
  const help = spawnSync(process.execPath, [path.join(root, 'dist', 'cli.js'), 'embed', '--help'], { encoding: 'utf8' }).stdout;
  const flags = script.match(/--[a-z][a-z-]+/g)!;
  expect(flags.length).toBeGreaterThan(5);
  for (const flag of flags) expect(help, flag).toMatch(new RegExp(`${flag}\\b`));
});
