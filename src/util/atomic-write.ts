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

export async function writeFileAtomicAsync(file: string, data: Uint8Array): Promise<void> {
  const tmp = tempName(file);
  try {
    await fs.promises.writeFile(tmp, data);
    await fs.promises.rename(tmp, file);
  } catch (err) {
    await fs.promises.rm(tmp, { force: true });
    throw err;
  }
}
