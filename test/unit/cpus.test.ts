// Thread sizing from the CPUs the process may really use (cgroup quotas), not the host's core count.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { cgroupCpuLimit, usableCpus } from '../../src/runtime/cpus.js';
import { Embedder } from '../../src/engine/embedder.js';
import { makeTinyModelDir } from '../fixtures/tiny-bert.js';

const dirs: string[] = [];
const cgroup = (files: Record<string, string>) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'fe-cgroup-'));
  dirs.push(root);
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    fs.writeFileSync(path.join(root, name), text);
  }
  return root;
};
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

describe('usable CPUs', () => {
  test('cgroup v2 cpu.max: a quota in whole CPUs, rounded up; "max" is no limit', () => {
    expect(cgroupCpuLimit(cgroup({ 'cpu.max': '200000 100000\n' }))).toBe(2);
    expect(cgroupCpuLimit(cgroup({ 'cpu.max': '50000 100000\n' }))).toBe(1);
    expect(cgroupCpuLimit(cgroup({ 'cpu.max': '150000 100000\n' }))).toBe(2);
    expect(cgroupCpuLimit(cgroup({ 'cpu.max': 'max 100000\n' }))).toBeUndefined();
  });

  test('cgroup v1 cfs quota, and no cgroup at all', () => {
    expect(cgroupCpuLimit(cgroup({ 'cpu/cpu.cfs_quota_us': '300000', 'cpu/cpu.cfs_period_us': '100000' }))).toBe(3);
    expect(cgroupCpuLimit(cgroup({ 'cpu/cpu.cfs_quota_us': '-1', 'cpu/cpu.cfs_period_us': '100000' }))).toBeUndefined();
    expect(cgroupCpuLimit(cgroup({}))).toBeUndefined();
  });

  test('usableCpus never exceeds what the OS offers this process, and is at least 1', () => {
    expect(usableCpus()).toBeGreaterThanOrEqual(1);
    expect(usableCpus()).toBeLessThanOrEqual(os.availableParallelism());
  });

  test('each session of a pool gets its share of the usable CPUs (at least one thread)', async () => {
    const dir = makeTinyModelDir({ hidden: 16 });
    dirs.push(dir);
    for (const poolSize of [1, 2, 4]) {
      const e = await Embedder.create({ modelPath: dir, poolSize, cacheDir: dir });
      try {
        expect(e.threads).toBe(Math.max(1, Math.floor(usableCpus() / poolSize)));
      } finally {
        await e.close();
      }
    }
  });
});
