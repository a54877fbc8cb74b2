// How many CPUs this process may really use: the host's (or its affinity mask's) count, capped by a cgroup CPU quota,
// so a 2-CPU container on a 64-core node sizes its thread pools for 2.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The cgroup CPU quota in whole CPUs (rounded up), or undefined when there is none. v2 first, then v1. */
export function cgroupCpuLimit(root = '/sys/fs/cgroup'): number | undefined {
  const read = (file: string) => fs.readFileSync(path.join(root, file), 'utf8').trim();
  try {
    const [quota, period] = read('cpu.max').split(/\s+/);
    if (quota === 'max') return undefined;
    const limit = Number(quota) / Number(period);
    if (limit > 0) return Math.ceil(limit);
  } catch {
    // not cgroup v2, or no cpu controller
  }
  try {
    const limit = Number(read('cpu/cpu.cfs_quota_us')) / Number(read('cpu/cpu.cfs_period_us'));
    if (limit > 0) return Math.ceil(limit);
  } catch {
    // no cgroup v1 cpu controller either
  }
  return undefined;
}

export function usableCpus(): number {
  const visible = os.availableParallelism?.() ?? os.cpus().length;
  return Math.max(1, Math.min(visible, cgroupCpuLimit() ?? visible));
}
