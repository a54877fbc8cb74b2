// Resumable, verified, atomic file download (temp file + rename), with optional progress reporting. A lock file
// keeps processes that share a cache (replicas on one volume) from writing the same partial file; a resumed download
// proves it continues the same bytes (If-Range with the first response's validator, Content-Range checked).
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { abortError, FastembedError } from '../util/errors.js';

export interface DownloadProgress {
  file: string;
  received: number;
  /** Total bytes when the server said (or the registry knows); undefined otherwise. */
  total?: number;
}

export interface DownloadOptions {
  sha256?: string;
  size?: number;
  signal?: AbortSignal;
  onProgress?: (p: DownloadProgress) => void;
  headers?: Record<string, string>;
}

function hashExisting(file: string, hash: ReturnType<typeof createHash>): Promise<void> {
  return new Promise((resolve, reject) => {
    fs.createReadStream(file)
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolve())
      .on('error', reject);
  });
}

interface PartInfo {
  url: string;
  /** ETag or Last-Modified of the response the partial file came from. */
  validator: string;
}

const LOCK_STALE_MS = 30_000;

/**
 * Runs `work` holding `lock` (created exclusively, its mtime refreshed while held). A lock whose holder stopped
 * refreshing it for LOCK_STALE_MS (a crashed process) is taken over.
 */
async function withLock<T>(lock: string, signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> {
  for (;;) {
    if (signal?.aborted) throw abortError(signal);
    try {
      await fs.promises.writeFile(lock, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const age = await fs.promises.stat(lock).then((st) => Date.now() - st.mtimeMs, () => 0);
      if (age > LOCK_STALE_MS) await fs.promises.rm(lock, { force: true });
      else await new Promise((r) => setTimeout(r, 100));
    }
  }
  const heartbeat = setInterval(() => {
    const now = new Date();
    fs.promises.utimes(lock, now, now).catch(() => undefined);
  }, LOCK_STALE_MS / 4);
  heartbeat.unref();
  try {
    return await work();
  } finally {
    clearInterval(heartbeat);
    await fs.promises.rm(lock, { force: true });
  }
}

/** The sha256 (hex) of a file's bytes, read as a stream. */
export async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  await hashExisting(file, hash);
  return hash.digest('hex');
}

/**
 * Downloads `url` to `dest`. A previous partial download (`dest + '.part'`) is resumed with a Range request;
 * the finished file is checked against `size`/`sha256` and only then renamed into place, so `dest` is never
 * half-written. Concurrent calls for one `dest` (in this or other processes) download it once. Returns the sha256.
 */
export async function downloadFile(url: string, dest: string, options: DownloadOptions = {}): Promise<string> {
  await fs.promises.mkdir(path.dirname(dest), { recursive: true });
  return withLock(`${dest}.lock`, options.signal, async () => {
    // Another process may have finished it while we waited for the lock.
    if (fs.existsSync(dest)) return sha256Of(dest);
    return fetchToFile(url, dest, options);
  });
}

async function fetchToFile(url: string, dest: string, options: DownloadOptions): Promise<string> {
  const part = `${dest}.part`;
  const infoFile = `${part}.json`;
  let offset = 0;
  let info: PartInfo | undefined;
  try {
    offset = (await fs.promises.stat(part)).size;
    info = JSON.parse(await fs.promises.readFile(infoFile, 'utf8')) as PartInfo;
  } catch {
    info = undefined;
  }
  // Resume only what provably came from this URL's current bytes: same URL and a validator for If-Range.
  if (!info || info.url !== url || !info.validator) offset = 0;
  if (options.size !== undefined && offset > options.size) offset = 0;

  const headers: Record<string, string> = { ...options.headers };
  if (offset > 0) {
    headers.range = `bytes=${offset}-`;
    headers['if-range'] = info!.validator;
  }
  let res: Response;
  try {
    res = await fetch(url, { headers, signal: options.signal, redirect: 'follow' });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new FastembedError(
      `Could not download ${url}: ${cause?.code ?? cause?.message ?? (err as Error).message}`,
      'ERR_DOWNLOAD',
      { cause: err },
    );
  }
  if (res.status === 416 && offset > 0) {
    // Our partial file is at least as long as the resource: start over rather than trust it.
    await res.body?.cancel();
    await fs.promises.rm(part, { force: true });
    return fetchToFile(url, dest, options);
  }
  if (res.status !== 200 && res.status !== 206) {
    await res.body?.cancel();
    throw new FastembedError(`Could not download ${url}: HTTP ${res.status} ${res.statusText}`, 'ERR_DOWNLOAD');
  }
  const resumed = res.status === 206 && offset > 0;
  if (resumed) {
    // The server must continue exactly where our bytes end; anything else would splice two files together.
    const start = /^bytes (\d+)-/.exec(res.headers.get('content-range') ?? '')?.[1];
    if (Number(start) !== offset) {
      await res.body?.cancel();
      await fs.promises.rm(part, { force: true });
      await fs.promises.rm(infoFile, { force: true });
      return fetchToFile(url, dest, options);
    }
  } else {
    offset = 0;
    const validator = res.headers.get('etag') ?? res.headers.get('last-modified') ?? '';
    await fs.promises.writeFile(infoFile, JSON.stringify({ url, validator } satisfies PartInfo));
  }

  const hash = createHash('sha256');
  if (resumed) await hashExisting(part, hash);
  const length = Number(res.headers.get('content-length'));
  const total = options.size ?? (Number.isFinite(length) && length > 0 ? offset + length : undefined);
  let received = offset;
  const count = new Transform({
    transform(chunk: Buffer, _enc, callback) {
      hash.update(chunk);
      received += chunk.length;
      options.onProgress?.({ file: path.basename(dest), received, total });
      callback(null, chunk);
    },
  });
  try {
    if (!res.body) throw new FastembedError(`Empty response body from ${url}`, 'ERR_DOWNLOAD');
    // pipeline closes every stream on any error, so a dropped connection can never leave us waiting.
    await pipeline(Readable.fromWeb(res.body as never), count, fs.createWriteStream(part, { flags: resumed ? 'a' : 'w' }));
  } catch (err) {
    // Keep the partial file: the next call resumes from it.
    throw err instanceof FastembedError || (err as Error).name === 'AbortError'
      ? err
      : new FastembedError(`Download of ${url} was interrupted (${(err as Error).message}); call again to resume`, 'ERR_DOWNLOAD', { cause: err });
  }

  const digest = hash.digest('hex');
  const problem =
    options.size !== undefined && received !== options.size
      ? `size ${received} bytes, expected ${options.size}`
      : options.sha256 !== undefined && digest !== options.sha256.toLowerCase()
        ? `sha256 ${digest}, expected ${options.sha256}`
        : undefined;
  if (problem) {
    await fs.promises.rm(part, { force: true });
    await fs.promises.rm(infoFile, { force: true });
    throw new FastembedError(`Downloaded ${url} is corrupt (${problem}); it was deleted, retry the download`, 'ERR_CHECKSUM');
  }
  await fs.promises.rename(part, dest);
  await fs.promises.rm(infoFile, { force: true });
  return digest;
}

/** A one-line progress bar on stderr, for TTYs only. */
export function terminalProgress(): (p: DownloadProgress) => void {
  let last = 0;
  return (p) => {
    const now = Date.now();
    const finished = p.total !== undefined && p.received >= p.total;
    if (now - last < 100 && !finished) return;
    last = now;
    const mb = (n: number) => (n / 1048576).toFixed(1);
    if (p.total) {
      const pct = Math.min(100, (100 * p.received) / p.total);
      const bar = '#'.repeat(Math.round(pct / 4)).padEnd(25, '.');
      process.stderr.write(`\r${p.file} [${bar}] ${pct.toFixed(0)}% ${mb(p.received)}/${mb(p.total)} MB`);
    } else {
      process.stderr.write(`\r${p.file} ${mb(p.received)} MB`);
    }
    if (finished) process.stderr.write('\n');
  };
}
