/**
 * The register DSL. A device declares its registers as data — offset, width, reset value, fields
 * and access modes — and gets a {@link RegisterFile} that holds the values and applies the access
 * semantics. Dumps, traces, docs and reset-value tests are all generated from the same table.
 *
 * @example
 * ```ts
 * const map = defineRegisters("timer", {
 *   CTRL:   { offset: 0x00, width: 32, fields: { EN: { lsb: 0, width: 1 }, IE: { lsb: 1, width: 1 } } },
 *   STATUS: { offset: 0x04, width: 32, mode: "w1c" },
 *   ID:     { offset: 0x08, width: 32, mode: "ro", reset: 0x7131 },
 * }, { size: 0x10 });
 * const regs = new RegisterFile(map);
 * regs.onWrite("CTRL", (value) => { if (value & 1) start(); });
 * ```
 */

/**
 * How the guest may access a bit.
 * - `rw`: read/write. `ro`: writes ignored. `wo`: reads return 0.
 * - `w1c`: writing 1 clears the bit (interrupt status). `w1s`: writing 1 sets it.
 * - `rc`: cleared by a guest read (clear-on-read status). `rsvd`: reads 0, writes ignored.
 * @public
 */
export type AccessMode = "rw" | "ro" | "wo" | "w1c" | "w1s" | "rc" | "rsvd";

/** Access size in bytes. @public */
export type AccessSize = 1 | 2 | 4 | 8;

/** Register width in bits. @public */
export type RegWidth = 8 | 16 | 32;

/** A bit field inside a register. @public */
export interface FieldDef {
  /** Least significant bit. */
  readonly lsb: number;
  /** Width in bits. */
  readonly width: number;
  /** Access mode of the field's bits; defaults to the register's mode. */
  readonly mode?: AccessMode;
  readonly doc?: string;
}

/** One register of a block. @public */
export interface RegisterDef {
  /** Byte offset inside the block. */
  readonly offset: number;
  readonly width: RegWidth;
  /** Value after reset (default 0). */
  readonly reset?: number;
  /** Access mode of bits not covered by a field (default `rw`). */
  readonly mode?: AccessMode;
  readonly fields?: Readonly<Record<string, FieldDef>>;
  /** Access sizes the guest may use; default: the register's own width only. */
  readonly access?: readonly AccessSize[];
  readonly doc?: string;
}

/** A register block description: register name to definition. @public */
export type RegisterDefs = Readonly<Record<string, RegisterDef>>;

/** Options of {@link defineRegisters}. @public */
export interface RegisterBlockOptions {
  /** Size of the block in bytes (the MMIO window or port range it occupies). */
  readonly size: number;
  readonly doc?: string;
}

/** Field names of register `R` in block `T`. @public */
export type FieldName<T extends RegisterDefs, R extends keyof T> =
  T[R]["fields"] extends Readonly<Record<string, FieldDef>> ? keyof T[R]["fields"] & string : never;

/** A validated, frozen register block. Build it once per device model with {@link defineRegisters}. @public */
export interface RegisterMap<T extends RegisterDefs = RegisterDefs> {
  readonly name: string;
  readonly size: number;
  readonly doc?: string;
  readonly defs: T;
  /** Register names in offset order. (Typed `string` so that any map is assignable to `RegisterMap`.) */
  readonly names: readonly string[];
  /** @internal Register index covering each byte offset, -1 where none. */
  readonly slotByOffset: Int16Array;
  /** @internal Per register, in `names` order: bits a guest write stores / ignores / clears / sets; bits a read clears / hides. */
  readonly masks: {
    readonly rw: Uint32Array;
    readonly w1c: Uint32Array;
    readonly w1s: Uint32Array;
    readonly rc: Uint32Array;
    readonly hidden: Uint32Array;
    readonly allowedSizes: Uint8Array;
    /** Byte offset and width in bytes of each register, for decode without string lookups. */
    readonly offset: Int32Array;
    readonly bytes: Uint8Array;
  };
}

function widthMask(bits: number): number {
  return bits >= 32 ? 0xffffffff : ((1 << bits) >>> 0) - 1;
}

function fieldMask(f: FieldDef): number {
  return (widthMask(f.width) << f.lsb) >>> 0;
}

/**
 * Declare and validate a register block. Throws a `RangeError` at definition time (i.e. when the
 * device model module loads) for overlapping registers, fields outside their register, reset
 * values that do not fit, or registers outside the block.
 * @public
 */
export function defineRegisters<const T extends RegisterDefs>(name: string, defs: T, options: RegisterBlockOptions): RegisterMap<T> {
  const names = Object.keys(defs).sort((a, b) => defs[a]!.offset - defs[b]!.offset);
  const slotByOffset = new Int16Array(options.size).fill(-1);
  const n = names.length;
  const rw = new Uint32Array(n), w1c = new Uint32Array(n), w1s = new Uint32Array(n);
  const rc = new Uint32Array(n), hidden = new Uint32Array(n), allowedSizes = new Uint8Array(n);
  const offsetOf = new Int32Array(n), bytesOf = new Uint8Array(n);
  names.forEach((reg, i) => {
    const d = defs[reg]!;
    const bytes = d.width / 8;
    offsetOf[i] = d.offset;
    bytesOf[i] = bytes;
    if (d.offset < 0 || d.offset + bytes > options.size) throw new RangeError(`${name}.${reg}: offset 0x${d.offset.toString(16)} outside block of ${options.size} bytes`);
    for (let b = 0; b < bytes; b++) {
      const prev = slotByOffset[d.offset + b]!;
      if (prev >= 0) throw new RangeError(`${name}.${reg} overlaps ${names[prev]}`);
      slotByOffset[d.offset + b] = i;
    }
    const full = widthMask(d.width);
    if (((d.reset ?? 0) >>> 0) > full) throw new RangeError(`${name}.${reg}: reset value does not fit ${d.width} bits`);
    const modeBits: Record<AccessMode, number> = { rw: 0, ro: 0, wo: 0, w1c: 0, w1s: 0, rc: 0, rsvd: 0 };
    let covered = 0;
    for (const [fname, f] of Object.entries(d.fields ?? {})) {
      if (f.lsb < 0 || f.width < 1 || f.lsb + f.width > d.width) throw new RangeError(`${name}.${reg}.${fname}: field outside the register`);
      const m = fieldMask(f);
      if (covered & m) throw new RangeError(`${name}.${reg}.${fname}: overlaps another field`);
      covered = (covered | m) >>> 0;
      modeBits[f.mode ?? d.mode ?? "rw"] |= m;
    }
    modeBits[d.mode ?? "rw"] |= full & ~covered;
    rw[i] = (modeBits.rw | modeBits.wo) >>> 0;
    w1c[i] = modeBits.w1c >>> 0;
    w1s[i] = modeBits.w1s >>> 0;
    rc[i] = modeBits.rc >>> 0;
    hidden[i] = (modeBits.wo | modeBits.rsvd) >>> 0;
    let sizes = 0;
    for (const s of d.access ?? [bytes as AccessSize]) sizes |= s;
    allowedSizes[i] = sizes;
  });
  return Object.freeze({
    name,
    size: options.size,
    ...(options.doc === undefined ? {} : { doc: options.doc }),
    defs,
    names: Object.freeze(names),
    slotByOffset,
    masks: Object.freeze({ rw, w1c, w1s, rc, hidden, allowedSizes, offset: offsetOf, bytes: bytesOf }),
  });
}

/**
 * Rename and shift a register block so that the same layout can appear several times in one
 * window (e.g. two DMA engines 0x1000 apart): `prefixRegisters("C2H_", 0x1000, engineRegs)`.
 * @public
 */
export function prefixRegisters<const P extends string, const T extends RegisterDefs>(
  prefix: P,
  base: number,
  defs: T,
): { readonly [K in keyof T & string as `${P}${K}`]: T[K] } {
  const out: Record<string, RegisterDef> = {};
  for (const [k, d] of Object.entries(defs)) out[prefix + k] = { ...d, offset: d.offset + base };
  return out as { readonly [K in keyof T & string as `${P}${K}`]: T[K] };
}

/** Result of a guest access that the block could not serve. @public */
export const GuestAccess = {
  /** No register at that offset. */
  UNMAPPED: -1,
  /** A register is there, but not accessible with that size or alignment. */
  BAD_SIZE: -2,
} as const;

const UNMAPPED = GuestAccess.UNMAPPED;
const BAD_SIZE = GuestAccess.BAD_SIZE;

/** Hook run on a guest read: returns the value the guest sees (e.g. a live counter). @public */
export type ReadHook = (stored: number) => number;
/** Hook run after a guest write was applied: `value` is the new stored value, `written` the raw data. @public */
export type WriteHook = (value: number, old: number, written: number) => void;

/**
 * The runtime values of one register block, with guest-side semantics (`guestRead`/`guestWrite`,
 * used by the bus) and device-side raw access (`get`/`set`, no side effects).
 * @public
 */
export class RegisterFile<T extends RegisterDefs = RegisterDefs> {
  readonly map: RegisterMap<T>;
  private readonly values: Uint32Array;
  private readonly readHooks: (ReadHook | undefined)[];
  private readonly writeHooks: (WriteHook | undefined)[];
  private readonly index: Readonly<Record<string, number>>;
  // The map's decode tables as own fields: the map is a frozen object literal (its shape varies
  // between blocks), so reading them through it on every guest access costs several lookups.
  private readonly blockSize: number;
  private readonly slotByOffset: Int16Array;
  private readonly mRw: Uint32Array;
  private readonly mW1c: Uint32Array;
  private readonly mW1s: Uint32Array;
  private readonly mRc: Uint32Array;
  private readonly mHidden: Uint32Array;
  private readonly mSizes: Uint8Array;
  private readonly mOffset: Int32Array;
  private readonly mBytes: Uint8Array;
  /** Per byte offset: the slot of a 32-bit register starting there that allows 4-byte access, else -1 (readl/writel decode in one load). */
  private readonly wordSlot: Int16Array;

  constructor(map: RegisterMap<T>) {
    this.map = map;
    this.blockSize = map.size;
    this.slotByOffset = map.slotByOffset;
    const m = map.masks;
    this.mRw = m.rw;
    this.mW1c = m.w1c;
    this.mW1s = m.w1s;
    this.mRc = m.rc;
    this.mHidden = m.hidden;
    this.mSizes = m.allowedSizes;
    this.mOffset = m.offset;
    this.mBytes = m.bytes;
    this.wordSlot = new Int16Array(map.size).fill(-1);
    for (let i = 0; i < map.names.length; i++) {
      if (m.bytes[i] === 4 && (m.allowedSizes[i]! & 4) !== 0) this.wordSlot[m.offset[i]!] = i;
    }
    this.values = new Uint32Array(map.names.length);
    this.readHooks = new Array<ReadHook | undefined>(map.names.length).fill(undefined);
    this.writeHooks = new Array<WriteHook | undefined>(map.names.length).fill(undefined);
    const index: Record<string, number> = {};
    map.names.forEach((n, i) => (index[n] = i));
    this.index = index;
    this.reset();
  }

  /** Restore every register to its declared reset value. Hooks are not called. */
  reset(): void {
    this.map.names.forEach((n, i) => (this.values[i] = (this.map.defs[n]!.reset ?? 0) >>> 0));
  }

  /** Device-side read of the stored value (no side effects). */
  get(reg: keyof T & string): number {
    return this.values[this.slot(reg)]!;
  }

  /** Device-side write of the stored value (no access-mode masking, no hooks). */
  set(reg: keyof T & string, value: number): void {
    const i = this.slot(reg);
    this.values[i] = (value & widthMask(this.map.defs[reg]!.width)) >>> 0;
  }

  /** Set bits (device side), e.g. raising a status bit. */
  setBits(reg: keyof T & string, bits: number): void {
    this.set(reg, this.get(reg) | bits);
  }

  /** Clear bits (device side). */
  clearBits(reg: keyof T & string, bits: number): void {
    this.set(reg, this.get(reg) & ~bits);
  }

  /** Read one field of a register (device side). */
  field<R extends keyof T & string>(reg: R, name: FieldName<T, R>): number {
    const f = this.fieldDef(reg, name);
    return (this.get(reg) >>> f.lsb) & widthMask(f.width);
  }

  /** Write one field of a register (device side). */
  setField<R extends keyof T & string>(reg: R, name: FieldName<T, R>, value: number): void {
    const f = this.fieldDef(reg, name);
    const m = fieldMask(f);
    this.set(reg, ((this.get(reg) & ~m) | ((value << f.lsb) & m)) >>> 0);
  }

  /** Run `hook` on every guest read of `reg`; its result is what the guest sees. */
  onRead(reg: keyof T & string, hook: ReadHook): this {
    this.readHooks[this.slot(reg)] = hook;
    return this;
  }

  /** Run `hook` after every guest write of `reg` has been applied with the access-mode rules. */
  onWrite(reg: keyof T & string, hook: WriteHook): this {
    this.writeHooks[this.slot(reg)] = hook;
    return this;
  }

  /** The register covering a byte offset, or undefined. */
  nameAt(offset: number): (keyof T & string) | undefined {
    const i = offset >= 0 && offset < this.map.size ? this.map.slotByOffset[offset]! : -1;
    return i < 0 ? undefined : (this.map.names[i] as keyof T & string);
  }

  /**
   * A guest read of `size` bytes at `offset`, with read-side effects (clear-on-read, hooks).
   * Returns the value, or a negative {@link GuestAccess} code the bus turns into a guest error.
   */
  guestRead(offset: number, size: AccessSize): number {
    let i = size === 4 && offset >= 0 && offset < this.blockSize ? this.wordSlot[offset]! : -1;
    if (i < 0) {
      i = this.locate(offset, size);
      if (i < 0) return i;
    }
    const stored = this.values[i]!;
    const hook = this.readHooks[i];
    const visible = (hook ? hook(stored) : stored) & ~this.mHidden[i]!;
    const rc = this.mRc[i]!;
    if (rc !== 0) this.values[i] = (this.values[i]! & ~rc) >>> 0;
    if (size === 4) return visible >>> 0;
    const shift = (offset - this.mOffset[i]!) * 8;
    return ((visible >>> shift) & widthMask(size * 8)) >>> 0;
  }

  /**
   * A guest write of `size` bytes at `offset`, applying each bit's access mode, then the write
   * hook. Returns 0, or a negative {@link GuestAccess} code.
   */
  guestWrite(offset: number, size: AccessSize, data: number): number {
    let i = size === 4 && offset >= 0 && offset < this.blockSize ? this.wordSlot[offset]! : -1;
    if (i < 0) {
      i = this.locate(offset, size);
      if (i < 0) return i;
    }
    const shift = (offset - this.mOffset[i]!) * 8;
    const lane = size === 4 ? 0xffffffff : (widthMask(size * 8) << shift) >>> 0;
    const written = ((data << shift) & lane) >>> 0;
    const old = this.values[i]!;
    const rw = this.mRw[i]!;
    let next = old;
    next = (next & ~(rw & lane)) | (written & rw);
    next &= ~(written & this.mW1c[i]!);
    next |= written & this.mW1s[i]!;
    const stored = next >>> 0;
    this.values[i] = stored;
    const hook = this.writeHooks[i];
    if (hook) hook(stored, old, written);
    return 0;
  }

  /** A multi-line dump: one register a line with its fields decoded. */
  dump(): string {
    return this.map.names
      .map((n) => {
        const d = this.map.defs[n]!;
        const v = this.get(n);
        const fields = Object.entries(d.fields ?? {})
          .map(([fname, f]) => `${fname}=${((v >>> f.lsb) & widthMask(f.width)).toString(16)}`)
          .join(" ");
        const hex = v.toString(16).padStart(d.width / 4, "0");
        return `${n.padEnd(20)} @0x${d.offset.toString(16).padStart(4, "0")} = 0x${hex}${fields ? "  " + fields : ""}`;
      })
      .join("\n");
  }

  private locate(offset: number, size: AccessSize): number {
    if (!(offset >= 0 && offset < this.blockSize)) return UNMAPPED;
    const i = this.slotByOffset[offset]!;
    if (i < 0) return UNMAPPED;
    if ((this.mSizes[i]! & size) === 0) return BAD_SIZE;
    const rel = offset - this.mOffset[i]!;
    // Naturally aligned and inside the register (sizes are powers of two).
    if ((rel & (size - 1)) !== 0 || rel + size > this.mBytes[i]!) return BAD_SIZE;
    return i;
  }

  private slot(reg: string): number {
    const i = this.index[reg];
    if (i === undefined) throw new RangeError(`${this.map.name}: no register ${reg}`);
    return i;
  }

  private fieldDef(reg: string, name: string): FieldDef {
    const f = this.map.defs[reg]?.fields?.[name];
    if (!f) throw new RangeError(`${this.map.name}.${reg}: no field ${name}`);
    return f;
  }
}

/**
 * The register table as Markdown (for device docs): offset, name, width, reset, mode, fields.
 * @public
 */
export function registerTableMarkdown(map: RegisterMap): string {
  const rows = map.names.map((n) => {
    const d = map.defs[n]!;
    const fields = Object.entries(d.fields ?? {})
      .map(([f, fd]) => `${f}[${fd.lsb + fd.width - 1}:${fd.lsb}]${fd.mode ? " " + fd.mode : ""}`)
      .join(", ");
    return `| 0x${d.offset.toString(16).padStart(4, "0")} | ${n} | ${d.width} | 0x${(d.reset ?? 0).toString(16)} | ${d.mode ?? "rw"} | ${fields} |`;
  });
  return [`| offset | register | width | reset | mode | fields |`, `|---|---|---|---|---|---|`, ...rows].join("\n");
}
