// Minimal protobuf wire-format reading and writing: enough to rewrite an ONNX model's graph (quantisation) while
// copying every field we do not touch byte for byte.

export interface Field {
  field: number;
  wire: number;
  /** varint value (wire 0) */
  value?: bigint;
  /** payload (wire 1, 2, 5) */
  bytes?: Uint8Array;
  /** the whole encoded field, key included, for verbatim copying */
  raw: Uint8Array;
}

function readVarint(buf: Uint8Array, pos: number): [bigint, number] {
  let result = 0n;
  let shift = 0n;
  for (;;) {
    if (pos >= buf.length) throw new Error('truncated protobuf varint');
    const b = buf[pos++];
    result |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [result, pos];
    shift += 7n;
  }
}

/** The top-level fields of one message, in order. */
export function readFields(buf: Uint8Array): Field[] {
  const out: Field[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const start = pos;
    const [key, p1] = readVarint(buf, pos);
    pos = p1;
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    let f: Field;
    if (wire === 0) {
      const [v, p2] = readVarint(buf, pos);
      pos = p2;
      f = { field, wire, value: v, raw: buf.subarray(start, pos) };
    } else if (wire === 2) {
      const [len, p2] = readVarint(buf, pos);
      const end = p2 + Number(len);
      if (end > buf.length) throw new Error('truncated protobuf field');
      f = { field, wire, bytes: buf.subarray(p2, end), raw: buf.subarray(start, end) };
      pos = end;
    } else if (wire === 5 || wire === 1) {
      const n = wire === 5 ? 4 : 8;
      f = { field, wire, bytes: buf.subarray(pos, pos + n), raw: buf.subarray(start, pos + n) };
      pos += n;
    } else {
      throw new Error(`unsupported protobuf wire type ${wire}`);
    }
    out.push(f);
  }
  return out;
}

export const fieldString = (f: Field): string => new TextDecoder().decode(f.bytes);

/** Varints of a (possibly packed) repeated int64 field. */
export function repeatedInts(fields: Field[], field: number): number[] {
  const out: number[] = [];
  for (const f of fields) {
    if (f.field !== field) continue;
    if (f.wire === 0) out.push(Number(BigInt.asIntN(64, f.value!)));
    else if (f.wire === 2) {
      let pos = 0;
      while (pos < f.bytes!.length) {
        const [v, p] = readVarint(f.bytes!, pos);
        out.push(Number(BigInt.asIntN(64, v)));
        pos = p;
      }
    }
  }
  return out;
}

export class ProtoWriter {
  private parts: Uint8Array[] = [];
  private length = 0;

  private push(bytes: Uint8Array): void {
    this.parts.push(bytes);
    this.length += bytes.length;
  }

  private varint(value: bigint | number): void {
    let v = BigInt.asUintN(64, BigInt(value));
    const out: number[] = [];
    while (v >= 0x80n) {
      out.push(Number((v & 0x7fn) | 0x80n));
      v >>= 7n;
    }
    out.push(Number(v));
    this.push(Uint8Array.from(out));
  }

  private key(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  int(field: number, value: number | bigint): this {
    this.key(field, 0);
    this.varint(value);
    return this;
  }

  float(field: number, value: number): this {
    this.key(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.push(b);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.key(field, 2);
    this.varint(value.length);
    this.push(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  message(field: number, build: (w: ProtoWriter) => void): this {
    const inner = new ProtoWriter();
    build(inner);
    return this.bytes(field, inner.finish());
  }

  /** An already encoded field (from readFields), copied as is. */
  raw(bytes: Uint8Array): this {
    this.push(bytes);
    return this;
  }

  /** `w`'s message as field `field`, its parts shared, not copied. */
  nested(field: number, w: ProtoWriter): this {
    this.key(field, 2);
    this.varint(w.length);
    for (const p of w.parts) this.push(p);
    return this;
  }

  /** The encoded parts in order, not joined: a large message goes to a file without a second copy in memory. */
  chunks(): readonly Uint8Array[] {
    return this.parts;
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}
