// Streaming writers of embeddings: rows go out as they come, to a file or stdout. NDJSON (one object per row), .npy
// (a fixed 128-byte header whose row count is rewritten in place at every checkpoint and at the end, so the file is
// a valid array whenever a checkpoint says so) and Arrow IPC (apache-arrow: an index column, an optional id column
// and a fixed-size-list<float32> vector column, read by pyarrow, pandas, polars, DuckDB and LanceDB).
import fs from 'node:fs';
import type { Data, Field, FixedSizeList, Float32, RecordBatchFileWriter, Schema } from 'apache-arrow';
import { loadArrow, type ArrowModule } from './arrow.js';
import { UsageError } from './args.js';
import { ndjsonRow, npyHeader } from './output.js';

export type StreamFormat = 'ndjson' | 'npy' | 'arrow';

/** Rows of one chunk: their input indices, ids (when the input has them), texts and vectors (rows × dim). */
export interface Rows {
  indices: number[];
  ids?: Array<string | number>;
  texts: string[];
  data: Float32Array;
  rows: number;
  dim: number;
}

/** Where bytes go: a file (positional writes, fsync, truncate) or stdout (with backpressure). */
export class OutputSink {
  #fd: fs.promises.FileHandle | undefined;
  /** Bytes written so far (from the start of the file). */
  bytes = 0;
  readonly seekable: boolean;

  private constructor(fd: fs.promises.FileHandle | undefined, bytes: number) {
    this.#fd = fd;
    this.bytes = bytes;
    this.seekable = fd !== undefined;
  }

  /** A file opened for writing from `resumeAt` (cut to that length), or from scratch; undefined = stdout. */
  static async open(file: string | undefined, resumeAt?: number): Promise<OutputSink> {
    if (file === undefined) return new OutputSink(undefined, 0);
    const fd = await fs.promises.open(file, resumeAt === undefined ? 'w' : 'r+');
    if (resumeAt !== undefined) await fd.truncate(resumeAt);
    return new OutputSink(fd, resumeAt ?? 0);
  }

  async write(buf: Uint8Array): Promise<void> {
    if (this.#fd) {
      let done = 0;
      while (done < buf.length) done += (await this.#fd.write(buf, done, buf.length - done, this.bytes + done)).bytesWritten;
    } else if (!process.stdout.write(buf)) {
      await new Promise<void>((resolve) => process.stdout.once('drain', resolve));
    }
    this.bytes += buf.length;
  }

  /** Overwrites bytes already written (a file only). */
  async writeAt(buf: Uint8Array, position: number): Promise<void> {
    await this.#fd!.write(buf, 0, buf.length, position);
  }

  /** Makes what was written durable (fdatasync); a no-op on stdout. */
  async sync(): Promise<void> {
    await this.#fd?.datasync();
  }

  async close(): Promise<void> {
    await this.#fd?.close();
    this.#fd = undefined;
  }
}

export interface VectorWriter {
  readonly format: StreamFormat;
  /** Rows written so far. */
  readonly rows: number;
  write(rows: Rows): Promise<void>;
  /** Everything written so far is complete and durable on disk (a file output). */
  checkpoint(): Promise<void>;
  /** Completes the file (header, footer) and closes it. */
  finish(): Promise<void>;
}

class NdjsonWriter implements VectorWriter {
  readonly format = 'ndjson';
  rows: number;
  readonly #sink: OutputSink;
  constructor(sink: OutputSink, rows: number) {
    this.#sink = sink;
    this.rows = rows;
  }
  async write({ indices, ids, texts, data, dim }: Rows): Promise<void> {
    const lines = indices.map((index, i) => ndjsonRow(index, ids?.[i], texts[i], data.subarray(i * dim, (i + 1) * dim)));
    await this.#sink.write(Buffer.from(lines.join('')));
    this.rows += indices.length;
  }
  checkpoint(): Promise<void> {
    return this.#sink.sync();
  }
  async finish(): Promise<void> {
    await this.#sink.sync();
    await this.#sink.close();
  }
}

/** The fixed size of a streamed .npy header: room for any row count up to 2^53 and any dimension. */
export const NPY_HEADER_BYTES = 128;

class NpyWriter implements VectorWriter {
  readonly format = 'npy';
  rows: number;
  #dim: number;
  readonly #sink: OutputSink;
  /** Stdout cannot be rewritten: the rows are kept and written after the header at the end. */
  readonly #held: Buffer[] = [];
  constructor(sink: OutputSink, rows: number, dim: number) {
    this.#sink = sink;
    this.rows = rows;
    this.#dim = dim;
  }
  async write({ data, rows, dim }: Rows): Promise<void> {
    this.#dim = dim;
    const bytes = Buffer.from(data.buffer, data.byteOffset, rows * dim * 4);
    if (!this.#sink.seekable) this.#held.push(Buffer.from(bytes));
    else {
      if (this.#sink.bytes === 0) await this.#sink.write(npyHeader(0, dim, NPY_HEADER_BYTES));
      await this.#sink.write(bytes);
    }
    this.rows += rows;
  }
  async checkpoint(): Promise<void> {
    if (!this.#sink.seekable) return;
    if (this.#sink.bytes === 0) await this.#sink.write(npyHeader(0, this.#dim, NPY_HEADER_BYTES));
    await this.#sink.writeAt(npyHeader(this.rows, this.#dim, NPY_HEADER_BYTES), 0);
    await this.#sink.sync();
  }
  async finish(): Promise<void> {
    if (this.#sink.seekable) await this.checkpoint();
    else {
      await this.#sink.write(npyHeader(this.rows, this.#dim));
      for (const b of this.#held) await this.#sink.write(b);
    }
    await this.#sink.close();
  }
}

class ArrowWriter implements VectorWriter {
  readonly format = 'arrow';
  rows = 0;
  readonly #sink: OutputSink;
  readonly #withIds: boolean;
  readonly #dim: number;
  #schema: Schema | undefined;
  #writer: RecordBatchFileWriter | undefined;
  #pump: Promise<void> | undefined;
  readonly #arrow: ArrowModule;
  constructor(arrow: ArrowModule, sink: OutputSink, withIds: boolean, dim: number) {
    this.#arrow = arrow;
    this.#sink = sink;
    this.#withIds = withIds;
    this.#dim = dim;
  }
  #start(dim: number): void {
    const { Field, FixedSizeList, Float32, Int64, RecordBatchFileWriter, Schema, Utf8 } = this.#arrow;
    const fields: Field[] = [new Field('index', new Int64(), false)];
    if (this.#withIds) fields.push(new Field('id', new Utf8(), false));
    fields.push(new Field('vector', new FixedSizeList(dim, new Field('item', new Float32(), false)), false));
    this.#schema = new Schema(fields);
    const writer = new RecordBatchFileWriter();
    this.#writer = writer;
    // The writer queues its bytes; this moves them to the sink in order.
    this.#pump = (async () => {
      for await (const bytes of writer) await this.#sink.write(bytes);
    })();
  }
  async write({ indices, ids, data, rows, dim }: Rows): Promise<void> {
    const { Float32, Int64, makeData, RecordBatch, Struct, Utf8, vectorFromArray } = this.#arrow;
    if (!this.#writer) this.#start(dim);
    const schema = this.#schema!;
    const children: Data[] = [makeData({ type: new Int64(), length: rows, data: BigInt64Array.from(indices, BigInt) })];
    if (this.#withIds) children.push(vectorFromArray((ids ?? indices).map(String), new Utf8()).data[0]);
    const floats = makeData({ type: new Float32(), length: rows * dim, data: data.subarray(0, rows * dim) });
    children.push(makeData({ type: schema.fields.at(-1)!.type as FixedSizeList<Float32>, length: rows, child: floats }));
    this.#writer!.write(new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: rows, children })));
    this.rows += rows;
  }
  checkpoint(): Promise<void> {
    return Promise.resolve();
  }
  async finish(): Promise<void> {
    // No rows: one empty batch, so the file still has the schema.
    if (!this.#writer) await this.write({ indices: [], ids: [], texts: [], data: new Float32Array(0), rows: 0, dim: this.#dim });
    this.#writer!.finish();
    await this.#pump;
    await this.#sink.sync();
    await this.#sink.close();
  }
}

/** A writer of `format` over `sink`; a resumed one continues after `rows` rows of `dim`. */
export async function vectorWriter(format: StreamFormat, sink: OutputSink, options: { rows?: number; dim: number; withIds: boolean }): Promise<VectorWriter> {
  switch (format) {
    case 'ndjson':
      return new NdjsonWriter(sink, options.rows ?? 0);
    case 'npy':
      return new NpyWriter(sink, options.rows ?? 0, options.dim);
    case 'arrow':
      if (options.rows) throw new UsageError('an Arrow file cannot be resumed (its footer is written at the end); use ndjson or npy with --resume');
      return new ArrowWriter(await loadArrow(), sink, options.withIds, options.dim);
  }
}
