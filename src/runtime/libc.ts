// Which C library this Linux system has. ONNX Runtime's Linux builds (and so our prebuilds) are glibc-only: on
// musl (Alpine) the addon would fail with a dlopen trace, so the loader says so plainly instead.
import fs from 'node:fs';

const libEntries = (): string[] => {
  try {
    return fs.readdirSync('/lib');
  } catch {
    return [];
  }
};

/**
 * 'musl' when the musl dynamic loader (/lib/ld-musl-<arch>.so.1) is present, 'glibc' otherwise on Linux, undefined
 * elsewhere. A directory listing, not process.report (which costs ~15 ms of start-up).
 */
export function linuxLibc(platform: NodeJS.Platform = process.platform, lib: () => string[] = libEntries): 'glibc' | 'musl' | undefined {
  if (platform !== 'linux') return undefined;
  return lib().some((f) => f.startsWith('ld-musl-')) ? 'musl' : 'glibc';
}

export const MUSL_MESSAGE =
  'fastembed-native needs glibc: ONNX Runtime publishes no Linux build for musl, so it cannot run on Alpine or other ' +
  'musl systems. Use a glibc-based image instead (for example node:22-bookworm-slim or a distroless Node image).';
