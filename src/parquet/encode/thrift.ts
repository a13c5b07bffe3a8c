// Terse builders for the Thrift structs of a Parquet file (parquet.thrift), encoded by
// ../thrift-compact.ts.
import { T, type TField, type TStruct, type TValue } from "../thrift-compact";

export const i32 = (id: number, n: number): TField => ({ id, type: T.I32, value: BigInt(n) });
export const i64 = (id: number, n: number): TField => ({ id, type: T.I64, value: BigInt(n) });
export const bool = (id: number, b: boolean): TField => ({ id, type: b ? T.TRUE : T.FALSE, value: b });
export const binary = (id: number, b: Uint8Array): TField => ({ id, type: T.BINARY, value: b });
export const text = (id: number, s: string): TField => binary(id, new TextEncoder().encode(s));
export const struct = (id: number, fields: TField[]): TField => ({ id, type: T.STRUCT, value: { fields } });
export const list = (id: number, elem: number, items: TValue[]): TField => ({ id, type: T.LIST, value: { elem, items } });
export const structs = (id: number, items: TStruct[]): TField => list(id, T.STRUCT, items);
export const i32s = (id: number, items: number[]): TField => list(id, T.I32, items.map((n) => BigInt(n)));

/** parquet.thrift enums sluice writes. */
export const Type = { BOOLEAN: 0, INT32: 1, INT64: 2, DOUBLE: 5, BYTE_ARRAY: 6 } as const;
export const Encoding = { PLAIN: 0, RLE: 3, DELTA_BINARY_PACKED: 5, RLE_DICTIONARY: 8 } as const;
export const PageType = { DATA_PAGE: 0, DICTIONARY_PAGE: 2 } as const;
export const Codec = { ZSTD: 6 } as const;
export const Repetition = { REQUIRED: 0, OPTIONAL: 1 } as const;
export const ConvertedType = { UTF8: 0, TIMESTAMP_MILLIS: 9 } as const;
