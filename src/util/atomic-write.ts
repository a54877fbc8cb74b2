// One way to write a file that readers never see half-written: a uniquely named temp file beside it, then rename.
// The unique name (pid + random) keeps concurrent writers in one or several processes from sharing a temp file.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';

const tempName = (file: string) => `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;

export function writeFileAtomic(file: string, data: Uint8Array): void {
  const tmp = tempName(file);
  try {
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

/** As writeFileAtomic, without blocking; `data` may come in parts (written in order, never joined in memory). */
export async function writeFileAtomicAsync(file: string, data: Uint8Array | readonly Uint8Array[]): Promise<void> {
  const tmp = tempName(file);
  try {
    const out = await fs.promises.open(tmp, 'w');
    try {
      for (const part of data instanceof Uint8Array ? [data] : data) await out.write(part);
    } finally {
      await out.close();
    }
    await fs.promises.rename(tmp, file);
  } catch (err) {
    await fs.promises.rm(tmp, { force: true });
    throw err;
  }
}
