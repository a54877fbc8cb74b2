// One line saying what a benchmark ran on: CPU model, the SIMD the kernels and ONNX Runtime can use (AVX-512 and
// VNNI change int8 and top-k results a lot), cores, memory and Node.
import fs from 'node:fs';
import os from 'node:os';

/** The CPU's feature flags as /proc/cpuinfo lists them (empty elsewhere). */
function cpuFlags(): Set<string> {
  return new Set(
    (fs.existsSync('/proc/cpuinfo') ? fs.readFileSync('/proc/cpuinfo', 'utf8') : '')
      .match(/^(flags|Features)\s*:\s*(.*)$/m)?.[2]
      .split(/\s+/) ?? [],
  );
}

/** True on x86 CPUs with an int8 dot-product instruction (AVX-512 VNNI or AVX-VNNI). */
export function hasVnni(flags = cpuFlags()): boolean {
  return flags.has('avx512_vnni') || flags.has('avx_vnni');
}

export function describeMachine(): string {
  const flags = cpuFlags();
  const has = (f: string) => flags.has(f);
  const simd =
    os.arch() === 'arm64'
      ? has('asimd') ? 'NEON' : 'no NEON'
      : [has('avx512f') ? 'AVX-512' : 'no AVX-512', hasVnni(flags) ? 'VNNI' : 'no VNNI', has('avx2') && has('fma') ? 'AVX2+FMA' : 'no AVX2'].join(', ');
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  return `${cpu} (${simd}), ${os.availableParallelism()} CPUs, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
}
