/**
 * The ISA DMA part of the kernel facade (`KernelIsaDma`): the channel allocator of kernel/dma.c,
 * the global `dma_spin_lock` behind claim_dma_lock, and the asm/dma.h helpers, which program the
 * board's 8237 pair only through its I/O ports on the bus, exactly as the x86 header does. The
 * ISA DMA rules (detector 10) watch both the calls and the controller's view of them.
 */
import { inject, injectable } from "../../soc/di.js";
import { BOARD, BUS } from "../../soc/tokens.js";
import type { BoardConfig } from "../../harness/board.js";
import type { Bus } from "../../soc/bus.js";
import { EBUSY, EINVAL, ENODEV } from "../../../sdk/index.js";
import type { IrqFlags, IsaDmaController, KernelIsaDma, SpinLock } from "../../../sdk/index.js";
import type { LedgerEntry } from "../../checks/ledger.js";
import type { KernelCore } from "../core.js";
import type { KernelApiPart, Owner } from "../facade.js";
import { KERNEL_OWNER } from "../facade.js";
import type { CallSite } from "../stack.js";
import type { SyncSubsystem } from "../sync/sync.js";
import type { DeviceHost } from "../bus/device-host.js";
import type { LeakReclaimers } from "../driver/reclaim.js";
import { DEVICE_HOST, KERNEL_CORE, LEAK_RECLAIMERS, SYNC } from "../tokens.js";
import { plugI8237 } from "./controller.js";
import { DmaChannelTable, renderProcDma, type ProcDmaState } from "./channels.js";
import { addrPort, clearFfPort, countPort, DMA_PAGE_PORT, isWide, maskPort, MAX_DMA_CHANNELS, modePort } from "./ports.js";
import { IsaDmaRules, type IsaDmaCall } from "./rules.js";

/** The channel the PC/AT wires as the cascade from DMA1 into DMA2. */
const CASCADE_CHANNEL = 4;

/** @public */
@injectable()
export class IsaDmaSubsystem implements KernelApiPart {
  /** The channel allocator (what /proc/dma lists). */
  readonly channels = new DmaChannelTable();
  /** Detector 10. @internal */
  readonly rules: IsaDmaRules;
  /** True on boards with an 8237 (boards with an I/O port space). */
  readonly available: boolean;
  /** The controller model serving the channels, once plugged. */
  controller: IsaDmaController | undefined;
  /** `dma_spin_lock`. */
  private readonly lock: SpinLock;
  private lockDepth = 0;

  constructor(
    @inject(KERNEL_CORE) private readonly core: KernelCore,
    @inject(BUS) private readonly bus: Bus,
    @inject(BOARD) board: BoardConfig,
    @inject(SYNC) private readonly sync: SyncSubsystem,
    @inject(DEVICE_HOST) host: DeviceHost,
    @inject(LEAK_RECLAIMERS) reclaimers: LeakReclaimers,
  ) {
    this.available = board.ioPorts;
    this.rules = new IsaDmaRules(core, this.channels);
    (core.detectors as unknown as Record<string, boolean>)["isaDma"] ??= true;
    this.lock = sync.spin.init("dma_spin_lock");
    reclaimers.register("isa-dma", (entry) => this.reclaim(entry));
    if (this.available) {
      this.channels.take({ channel: CASCADE_CHANNEL, name: "cascade", owner: KERNEL_OWNER, ledgerId: 0, site: {} });
      // The PC's 8237 pair is part of the board: plugged at boot, its ports reserved as on x86.
      this.attachController(
        plugI8237(host, {
          guestError: (m) => this.controllerGuestError(m),
          deviceOfChannel: (ch) => this.channels.holder(ch)?.owner.device,
        }),
      );
    }
  }

  /** Connect the controller model: its programming observer and its guest errors feed the rules. */
  attachController(controller: IsaDmaController): void {
    this.controller = controller;
    controller.observe?.((e) => this.rules.observe(e));
  }

  /** A guest error logged by the controller model (the device-side wrap check reads it). */
  controllerGuestError(message: string): void {
    this.rules.deviceGuestError(message);
  }

  /** What /proc/dma shows. */
  procState(): ProcDmaState {
    return { available: this.available, held: this.channels.held().map(({ channel, name }) => ({ channel, name })) };
  }

  /** `/proc/dma`. */
  procDma(): string {
    return renderProcDma(this.procState());
  }

  /** True while claim_dma_lock is held. */
  get locked(): boolean {
    return this.lockDepth > 0;
  }

  // ---- allocator (kernel/dma.c) ---------------------------------------------------------------

  requestDma(owner: Owner, channel: number, name: string): number {
    const site = this.core.site();
    if (!Number.isInteger(channel) || channel < 0 || channel >= MAX_DMA_CHANNELS) return -EINVAL;
    if (!this.available) return -ENODEV;
    if (this.core.faults.shouldFail("isa-dma", owner.driver, site)) return -EBUSY;
    if (this.channels.holder(channel)) return -EBUSY;
    const label = `ISA DMA channel ${channel} ("${name}")`;
    const ledgerId = this.core.ledger.add("isa-dma", owner, label, site, this.core.now());
    this.channels.take({ channel, name: String(name), owner, ledgerId, site });
    return 0;
  }

  freeDma(owner: Owner, channel: number): void {
    const site = this.core.site();
    if (!Number.isInteger(channel) || channel < 0 || channel >= MAX_DMA_CHANNELS) {
      this.rules.reportFree(owner, "free-invalid", channel, site);
      return;
    }
    const held = this.channels.holder(channel);
    if (!held) {
      this.rules.reportFree(owner, "free-free", channel, site);
      return;
    }
    if (held.owner.driver !== owner.driver) this.rules.reportFree(owner, "free-foreign", channel, site, held.name);
    this.channels.release(channel);
    this.core.ledger.remove(held.ledgerId);
  }

  /** Leak reclaimer: after the leak report, free a channel a driver left held. */
  reclaim(entry: LedgerEntry): boolean {
    for (const held of this.channels.held()) {
      if (held.ledgerId === entry.id) {
        this.channels.release(held.channel);
        this.core.ledger.remove(held.ledgerId);
        return true;
      }
    }
    return false;
  }

  // ---- dma_spin_lock -----------------------------------------------------------------------

  claimLock(): IrqFlags {
    const flags = this.sync.spin.lockIrqsave(this.lock);
    this.lockDepth++;
    this.rules.sectionBoundary();
    return flags;
  }

  releaseLock(flags: IrqFlags): void {
    if (this.lockDepth > 0) this.lockDepth--;
    this.rules.sectionBoundary();
    this.sync.spin.unlockIrqrestore(this.lock, flags);
  }

  // ---- asm/dma.h ---------------------------------------------------------------------------

  private outb(value: number, port: number): void {
    this.bus.outPort(port, 1, value & 0xff);
  }

  private inb(port: number): number {
    return this.bus.inPort(port, 1) & 0xff;
  }

  /** Common entry of every helper: channel and board checks, then the lock rule. */
  private enter(owner: Owner, call: IsaDmaCall, channel: number): CallSite | null {
    const site = this.core.site();
    if (!this.available) {
      this.rules.reportNoIsaDma(owner, call, site);
      return null;
    }
    if (!Number.isInteger(channel) || channel < 0 || channel >= MAX_DMA_CHANNELS) return null;
    this.rules.beforeCall(owner, call, channel, this.locked, site);
    return site;
  }

  enableDma(owner: Owner, ch: number): void {
    if (!this.enter(owner, "enable_dma", ch)) return;
    this.rules.checkEnable(ch);
    this.outb(ch & 3, maskPort(ch));
  }

  disableDma(owner: Owner, ch: number): void {
    if (!this.enter(owner, "disable_dma", ch)) return;
    this.outb((ch & 3) | 4, maskPort(ch));
  }

  clearDmaFf(owner: Owner, ch: number): void {
    if (!this.enter(owner, "clear_dma_ff", ch)) return;
    this.outb(0, clearFfPort(ch));
  }

  setDmaMode(owner: Owner, ch: number, mode: number): void {
    if (!this.enter(owner, "set_dma_mode", ch)) return;
    this.outb((mode & 0xff) | (ch & 3), modePort(ch));
  }

  setDmaPage(owner: Owner, ch: number, page: number): void {
    if (!this.enter(owner, "set_dma_page", ch)) return;
    this.writePage(ch, page);
  }

  /** DMA_PAGE_n; channel 4 has none (Linux's switch skips it). */
  private writePage(ch: number, page: number): void {
    if (ch === CASCADE_CHANNEL) return;
    this.rules.notePage(ch, page);
    this.outb(isWide(ch) ? page & 0xfe : page, DMA_PAGE_PORT[ch]!);
  }

  setDmaAddr(owner: Owner, ch: number, addr: number): void {
    const site = this.enter(owner, "set_dma_addr", ch);
    if (!site) return;
    const a = Math.trunc(Number(addr)) || 0;
    this.writePage(ch, Math.floor(a / 0x10000) & 0xff);
    this.rules.checkAddr(owner, ch, a, site);
    const port = addrPort(ch);
    const word = isWide(ch) ? Math.floor(a / 2) : a;
    this.rules.expectLowByte(owner, "set_dma_addr", ch, site);
    this.outb(word & 0xff, port);
    this.rules.lowByteDone();
    this.outb((word >>> 8) & 0xff, port);
  }

  setDmaCount(owner: Owner, ch: number, count: number): void {
    const site = this.enter(owner, "set_dma_count", ch);
    if (!site) return;
    const bytes = Math.trunc(Number(count)) || 0;
    this.rules.checkCount(owner, ch, bytes, site);
    const n = (bytes - 1) & 0x1ffff;
    const units = isWide(ch) ? n >>> 1 : n;
    const port = countPort(ch);
    this.rules.expectLowByte(owner, "set_dma_count", ch, site);
    this.outb(units & 0xff, port);
    this.rules.lowByteDone();
    this.outb((units >>> 8) & 0xff, port);
  }

  getDmaResidue(owner: Owner, ch: number): number {
    const site = this.enter(owner, "get_dma_residue", ch);
    if (!site) return 0;
    const port = countPort(ch);
    this.rules.expectLowByte(owner, "get_dma_residue", ch, site);
    const lo = this.inb(port);
    this.rules.lowByteDone();
    const hi = this.inb(port);
    // unsigned short in asm/dma.h: 0xFFFF + 1 wraps to 0 (transfer complete).
    const count = (1 + lo + (hi << 8)) & 0xffff;
    return isWide(ch) ? count << 1 : count;
  }

  // ---- facade --------------------------------------------------------------------------------

  api(owner: Owner): Partial<KernelIsaDma> {
    return {
      request_dma: (channel: number, deviceId: string) => this.requestDma(owner, channel, deviceId),
      free_dma: (channel: number) => this.freeDma(owner, channel),
      claim_dma_lock: () => this.claimLock(),
      release_dma_lock: (flags: IrqFlags) => this.releaseLock(flags),
      enable_dma: (ch: number) => this.enableDma(owner, ch),
      disable_dma: (ch: number) => this.disableDma(owner, ch),
      clear_dma_ff: (ch: number) => this.clearDmaFf(owner, ch),
      set_dma_mode: (ch: number, mode: number) => this.setDmaMode(owner, ch, mode),
      set_dma_page: (ch: number, page: number) => this.setDmaPage(owner, ch, page),
      set_dma_addr: (ch: number, addr: number) => this.setDmaAddr(owner, ch, addr),
      set_dma_count: (ch: number, count: number) => this.setDmaCount(owner, ch, count),
      get_dma_residue: (ch: number) => this.getDmaResidue(owner, ch),
    };
  }
}
