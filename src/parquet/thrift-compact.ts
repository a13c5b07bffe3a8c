// A Thrift compact-protocol struct, decoded into a tree that encodes back to the same bytes, so
// a Parquet footer can be edited (offsets shifted, row groups joined) without a generated codec.
// Integers stay bigints (Parquet offsets and row counts are i64).

import { ByteWriter } from "./byte-writer";

export const T = { TRUE: 1, FALSE: 2, BYTE: 3, I16: 4, I32: 5, I64: 6, DOUBLE: 7, BINARY: 8, LIST: 9, SET: 10, MAP: 11, STRUCT: 12 } as const;

export type TValue = boolean | number | bigint | Uint8Array | TList | TMap | TStruct;
export interface TList {
  elem: number;
  items: TValue[];
}
export interface TMap {
  key: number;
  value: number;
  entries: [TValue, TValue][];
}
export interface TField {
  id: number;
  /** Compact type; a bool field is stored as TRUE with its value in `value`. */
  type: number;
  value: TValue;
}
export interface TStruct {
  fields: TField[];
}

class Reader {
  at = 0;
  constructor(private readonly buf: Uint8Array) {}

  byte(): number {
    if (this.at >= this.buf.length) throw new Error("thrift: unexpected end of input");
    return this.buf[this.at++]!;
  }

  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const b = this.byte();
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
    }
  }

  zigzag(): bigint {
    const n = this.varint();
    return (n >> 1n) ^ -(n & 1n);
  }

  bytes(n: number): Uint8Array {
    if (this.at + n > this.buf.length) throw new Error("thrift: unexpected end of input");
    const out = this.buf.slice(this.at, this.at + n);
    this.at += n;
    return out;
  }

  /** A value of `type` as an element of a list, set or map (bools take a byte there). */
  element(type: number): TValue {
    if (type === T.TRUE || type === T.FALSE) return this.byte() === T.TRUE;
    return this.value(type);
  }

  value(type: number): TValue {
    switch (type) {
      case T.BYTE:
        return this.byte();
      case T.I16:
      case T.I32:
      case T.I64:
        return this.zigzag();
      case T.DOUBLE:
        return this.bytes(8);
      case T.BINARY:
        return this.bytes(Number(this.varint()));
      case T.LIST:
      case T.SET: {
        const header = this.byte();
        const size = header >> 4 === 15 ? Number(this.varint()) : header >> 4;
        const elem = header & 0x0f;
        const items: TValue[] = [];
        for (let i = 0; i < size; i++) items.push(this.element(elem));
        return { elem, items };
      }
      case T.MAP: {
        const size = Number(this.varint());
        const kinds = size > 0 ? this.byte() : 0;
        const entries: [TValue, TValue][] = [];
        for (let i = 0; i < size; i++) entries.push([this.element(kinds >> 4), this.element(kinds & 0x0f)]);
        return { key: kinds >> 4, value: kinds & 0x0f, entries };
      }
      case T.STRUCT:
        return this.struct();
      default:
        throw new Error(`thrift: unknown compact type ${type}`);
    }
  }

  struct(): TStruct {
    const fields: TField[] = [];
    let lastId = 0;
    for (;;) {
      const header = this.byte();
      if (header === 0) return { fields };
      const delta = header >> 4;
      const type = header & 0x0f;
      const id = delta === 0 ? Number(this.zigzag()) : lastId + delta;
      lastId = id;
      if (type === T.TRUE || type === T.FALSE) fields.push({ id, type: T.TRUE, value: type === T.TRUE });
      else fields.push({ id, type, value: this.value(type) });
    }
  }
}

class Writer extends ByteWriter {
  /** Unsigned LEB128 of a 64-bit value. */
  varint64(n: bigint): void {
    let v = BigInt.asUintN(64, n);
    while (v >= 0x80n) {
      this.byte(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.byte(Number(v));
  }

  zigzag(n: bigint): void {
    this.varint64(BigInt.asUintN(64, (n << 1n) ^ (n >> 63n)));
  }

  element(type: number, v: TValue): void {
    if (type === T.TRUE || type === T.FALSE) this.byte(v === true ? T.TRUE : T.FALSE);
    else this.value(type, v);
  }

  value(type: number, v: TValue): void {
    switch (type) {
      case T.BYTE:
        return this.byte(v as number);
      case T.I16:
      case T.I32:
      case T.I64:
        return this.zigzag(v as bigint);
      case T.DOUBLE:
        return this.bytes(v as Uint8Array);
      case T.BINARY: {
        const b = v as Uint8Array;
        this.varint64(BigInt(b.length));
        return this.bytes(b);
      }
      case T.LIST:
      case T.SET: {
        const list = v as TList;
        if (list.items.length < 15) this.byte((list.items.length << 4) | list.elem);
        else {
          this.byte(0xf0 | list.elem);
          this.varint64(BigInt(list.items.length));
        }
        for (const item of list.items) this.element(list.elem, item);
        return;
      }
      case T.MAP: {
        const map = v as TMap;
        this.varint64(BigInt(map.entries.length));
        if (map.entries.length > 0) this.byte((map.key << 4) | map.value);
        for (const [k, val] of map.entries) {
          this.element(map.key, k);
          this.element(map.value, val);
        }
        return;
      }
      case T.STRUCT:
        return this.struct(v as TStruct);
      default:
        throw new Error(`thrift: unknown compact type ${type}`);
    }
  }

  struct(s: TStruct): void {
    let lastId = 0;
    for (const f of [...s.fields].sort((a, b) => a.id - b.id)) {
      const type = f.type === T.TRUE || f.type === T.FALSE ? (f.value === true ? T.TRUE : T.FALSE) : f.type;
      const delta = f.id - lastId;
      if (delta > 0 && delta <= 15) this.byte((delta << 4) | type);
      else {
        this.byte(type);
        this.zigzag(BigInt(f.id));
      }
      lastId = f.id;
      if (type !== T.TRUE && type !== T.FALSE) this.value(type, f.value);
    }
    this.byte(0);
  }

  result(): Uint8Array {
    return this.view().slice();
  }
}

export function decodeStruct(bytes: Uint8Array): TStruct {
  const { value, end } = readStruct(bytes);
  if (end !== bytes.length) throw new Error(`thrift: ${bytes.length - end} bytes after the struct`);
  return value;
}

/** The struct at the start of `bytes` (a page header, say, before its page) and where it ends. */
export function readStruct(bytes: Uint8Array): { value: TStruct; end: number } {
  const reader = new Reader(bytes);
  return { value: reader.struct(), end: reader.at };
}

export function encodeStruct(s: TStruct): Uint8Array {
  const writer = new Writer();
  writer.struct(s);
  return writer.result();
}

/** The field `id` of a struct, or undefined. */
export function field(s: TStruct, id: number): TField | undefined {
  return s.fields.find((f) => f.id === id);
}

export function structField(s: TStruct, id: number): TStruct | undefined {
  const f = field(s, id);
  return f?.type === T.STRUCT ? (f.value as TStruct) : undefined;
}

export function listField(s: TStruct, id: number): TList | undefined {
  const f = field(s, id);
  return f?.type === T.LIST ? (f.value as TList) : undefined;
}

export function intField(s: TStruct, id: number): bigint | undefined {
  const f = field(s, id);
  return f && (f.type === T.I16 || f.type === T.I32 || f.type === T.I64) ? (f.value as bigint) : undefined;
}

/** Set (or add) an integer field. */
export function setInt(s: TStruct, id: number, type: number, value: bigint): void {
  const f = field(s, id);
  if (f) f.value = value;
  else s.fields.push({ id, type, value });
}

export function removeFields(s: TStruct, ids: readonly number[]): void {
  s.fields = s.fields.filter((f) => !ids.includes(f.id));
}
