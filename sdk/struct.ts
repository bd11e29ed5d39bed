/**
 * The struct DSL: in-memory layouts such as DMA descriptors, declared once and read or written
 * through any {@link MemoryAccessor} — the kernel's `k.mem` (driver side, through the MMU and
 * cache), a device's DMA port, or a plain byte array in a test.
 *
 * @example
 * ```ts
 * const Desc = defineStruct("desc", {
 *   control: "u32", length: "u32", src: "u64", dst: "u64", next: "u64",
 * }, { align: 32 });
 * Desc.write(k.mem, ring, { control: 0xad4b0001, length: 4096, src: bus, dst: 0, next: 0 });
 * ```
 */

/** Scalar field types. `u64` values are numbers, exact below 2^53. @public */
export type ScalarType = "u8" | "u16" | "u32" | "u64";

/** A field: its type, or its type and an explicit byte offset. @public */
export type StructFieldDef = ScalarType | { readonly type: ScalarType; readonly offset: number };

/** Field name to field definition, in layout order. @public */
export type StructDefs = Readonly<Record<string, StructFieldDef>>;

/** The decoded values of a struct: one number per field. @public */
export type StructValues<T extends StructDefs> = { [K in keyof T]: number };

/**
 * Byte-level memory access at addresses of kind `A`. Little-endian, as every vdtb device.
 * @public
 */
export interface MemoryAccessor<A extends number = number> {
  read8(addr: A): number;
  read16(addr: A): number;
  read32(addr: A): number;
  write8(addr: A, value: number): void;
  write16(addr: A, value: number): void;
  write32(addr: A, value: number): void;
}

const SIZES: Record<ScalarType, number> = { u8: 1, u16: 2, u32: 4, u64: 8 };

/** A declared struct layout. @public */
export interface StructLayout<T extends StructDefs> {
  readonly name: string;
  /** Size in bytes, padded to the alignment. */
  readonly size: number;
  readonly align: number;
  /** Byte offset of each field. */
  readonly offsets: { readonly [K in keyof T]: number };
  readonly types: { readonly [K in keyof T]: ScalarType };
  /** Read every field at `addr`. */
  read<A extends number>(mem: MemoryAccessor<A>, addr: A): StructValues<T>;
  /** Write the given fields at `addr` (fields left out are not touched). */
  write<A extends number>(mem: MemoryAccessor<A>, addr: A, values: Partial<StructValues<T>>): void;
  /** Read one field. */
  get<A extends number>(mem: MemoryAccessor<A>, addr: A, field: keyof T & string): number;
  /** Write one field. */
  set<A extends number>(mem: MemoryAccessor<A>, addr: A, field: keyof T & string, value: number): void;
  /** Encode into a fresh byte array of `size` bytes (unspecified fields are 0). */
  encode(values: Partial<StructValues<T>>): Uint8Array;
  /** Decode from bytes at `offset`. */
  decode(bytes: Uint8Array, offset?: number): StructValues<T>;
}

function readScalar<A extends number>(mem: MemoryAccessor<A>, addr: number, type: ScalarType): number {
  switch (type) {
    case "u8": return mem.read8(addr as A);
    case "u16": return mem.read16(addr as A);
    case "u32": return mem.read32(addr as A);
    case "u64": return mem.read32(addr as A) + mem.read32((addr + 4) as A) * 2 ** 32;
  }
}

function writeScalar<A extends number>(mem: MemoryAccessor<A>, addr: number, type: ScalarType, value: number): void {
  switch (type) {
    case "u8": return mem.write8(addr as A, value & 0xff);
    case "u16": return mem.write16(addr as A, value & 0xffff);
    case "u32": return mem.write32(addr as A, value >>> 0);
    case "u64": {
      const hi = Math.floor(value / 2 ** 32);
      mem.write32(addr as A, (value - hi * 2 ** 32) >>> 0);
      mem.write32((addr + 4) as A, hi >>> 0);
      return;
    }
  }
}

/** A {@link MemoryAccessor} over a byte array, addresses being offsets into it. @public */
export function bytesAccessor(bytes: Uint8Array): MemoryAccessor<number> {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    read8: (a) => dv.getUint8(a),
    read16: (a) => dv.getUint16(a, true),
    read32: (a) => dv.getUint32(a, true),
    write8: (a, v) => dv.setUint8(a, v),
    write16: (a, v) => dv.setUint16(a, v, true),
    write32: (a, v) => dv.setUint32(a, v >>> 0, true),
  };
}

/**
 * Declare a struct. Fields without an explicit offset follow the previous one at their natural
 * alignment, as a C compiler lays them out. Throws a `RangeError` on overlapping fields.
 * @public
 */
export function defineStruct<const T extends StructDefs>(name: string, fields: T, options?: { readonly align?: number; readonly size?: number }): StructLayout<T> {
  const offsets: Record<string, number> = {};
  const types: Record<string, ScalarType> = {};
  let cursor = 0;
  let maxAlign = 1;
  const taken: [number, number, string][] = [];
  for (const [fname, def] of Object.entries(fields)) {
    const type = typeof def === "string" ? def : def.type;
    const size = SIZES[type];
    const offset = typeof def === "string" ? Math.ceil(cursor / size) * size : def.offset;
    for (const [s, e, other] of taken) {
      if (offset < e && offset + size > s) throw new RangeError(`${name}.${fname} overlaps ${other}`);
    }
    taken.push([offset, offset + size, fname]);
    offsets[fname] = offset;
    types[fname] = type;
    cursor = Math.max(cursor, offset + size);
    maxAlign = Math.max(maxAlign, size);
  }
  const align = options?.align ?? maxAlign;
  const size = options?.size ?? Math.ceil(cursor / align) * align;
  if (size < cursor) throw new RangeError(`${name}: size ${size} smaller than its fields (${cursor})`);
  const names = Object.keys(fields) as (keyof T & string)[];

  const layout: StructLayout<T> = {
    name,
    size,
    align,
    offsets: offsets as StructLayout<T>["offsets"],
    types: types as StructLayout<T>["types"],
    read(mem, addr) {
      const out: Record<string, number> = {};
      for (const f of names) out[f] = readScalar(mem, addr + offsets[f]!, types[f]!);
      return out as StructValues<T>;
    },
    write(mem, addr, values) {
      for (const f of names) {
        const v = values[f];
        if (v !== undefined) writeScalar(mem, addr + offsets[f]!, types[f]!, v);
      }
    },
    get(mem, addr, field) {
      const off = offsets[field];
      if (off === undefined) throw new RangeError(`${name}: no field ${field}`);
      return readScalar(mem, addr + off, types[field]!);
    },
    set(mem, addr, field, value) {
      const off = offsets[field];
      if (off === undefined) throw new RangeError(`${name}: no field ${field}`);
      writeScalar(mem, addr + off, types[field]!, value);
    },
    encode(values) {
      const bytes = new Uint8Array(size);
      layout.write(bytesAccessor(bytes), 0, values);
      return bytes;
    },
    decode(bytes, offset = 0) {
      return layout.read(bytesAccessor(bytes), offset);
    },
  };
  return Object.freeze(layout);
}

/** Bit-field layout inside one 32-bit word: name to `[lsb, width]`. @public */
export type BitsDefs = Readonly<Record<string, readonly [lsb: number, width: number]>>;

/**
 * Pack named bit fields into a 32-bit word: `packBits({ MAGIC: [16, 16], STOP: [0, 1] }, { MAGIC: 0xad4b, STOP: 1 })`.
 * Values wider than their field are truncated.
 * @public
 */
export function packBits<const T extends BitsDefs>(defs: T, values: Partial<{ [K in keyof T]: number }>): number {
  let word = 0;
  for (const [k, [lsb, width]] of Object.entries(defs)) {
    const v = values[k as keyof T];
    if (v === undefined) continue;
    const mask = width >= 32 ? 0xffffffff : (1 << width) - 1;
    word |= (v & mask) << lsb;
  }
  return word >>> 0;
}

/** Unpack named bit fields from a 32-bit word. @public */
export function unpackBits<const T extends BitsDefs>(defs: T, word: number): { [K in keyof T]: number } {
  const out: Record<string, number> = {};
  for (const [k, [lsb, width]] of Object.entries(defs)) {
    const mask = width >= 32 ? 0xffffffff : (1 << width) - 1;
    out[k] = (word >>> lsb) & mask;
  }
  return out as { [K in keyof T]: number };
}
