/**
 * kmalloc_kfree_ns: kmalloc + kfree pairs of mixed sizes (8 B .. 4 KiB) through the driver
 * facade on the pc board, every detector on (KASAN quarantine, ledger, call sites, fault
 * injection checks). A ring of 512 live objects is cycled so slabs are reused and released.
 * Also measures 2e5 vs 1e6 pairs to check the cost per pair stays flat (no O(n) structure).
 *
 * Call {@link kmallocMetrics} from bench/run.ts. The pair cost is dominated by call-site capture
 * (two stack captures per pair, and the GC of the retained traces); `kmalloc_kfree_nostacks_ns`
 * shows the allocator + KASAN + ledger cost alone.
 */
import type { KernelVA } from "../../sdk/address.js";
import { GFP_KERNEL } from "../../sdk/kernel/types.js";
import { Testbench } from "../../testbench/harness/testbench.js";
import { registerMm } from "../../testbench/kernel/mm/register.js";
import { MM_API } from "../../testbench/kernel/tokens.js";
import type { MetricRegistry } from "../harness.js";
import { nowNs, sink } from "../harness.js";

const RING = 512;
const SIZES = [8, 24, 40, 64, 96, 120, 192, 256, 300, 512, 1000, 2048, 4000, 16, 32, 128];

/** Nanoseconds per kmalloc+kfree pair over `pairs` pairs on a fresh testbench. */
export async function kmallocKfreeNs(pairs: number, stacks = true): Promise<number> {
  const tb = await Testbench.boot({ board: "pc", register: (c) => registerMm(c) });
  tb.core.detectors.stacks = stacks;
  const k = tb.container.resolve(MM_API).api({ driver: "bench" });
  const kmalloc = k.kmalloc!;
  const kfree = k.kfree!;
  const ring: (KernelVA | null)[] = new Array<KernelVA | null>(RING).fill(null);
  // Warm-up: fill the ring and run the JIT.
  for (let i = 0; i < 20000; i++) {
    const j = i & (RING - 1);
    kfree(ring[j]!);
    ring[j] = kmalloc(SIZES[i & 15]!, GFP_KERNEL);
  }
  const t0 = nowNs();
  for (let i = 0; i < pairs; i++) {
    const j = i & (RING - 1);
    kfree(ring[j]!);
    ring[j] = kmalloc(SIZES[(i * 7) & 15]!, GFP_KERNEL);
  }
  const dt = nowNs() - t0;
  sink.value ^= ring[0] ?? 0;
  if (tb.core.reports().length !== 0) throw new Error(`kmalloc bench produced reports: ${tb.core.reports()[0]!.title}`);
  await tb.dispose();
  return dt / pairs;
}

/** Register kmalloc_kfree_ns (1e6 pairs) and kmalloc_kfree_ns_2e5 (linearity check). */
export async function kmallocMetrics(reg: MetricRegistry, quick: boolean): Promise<void> {
  const small = await kmallocKfreeNs(quick ? 50_000 : 200_000);
  const big = await kmallocKfreeNs(quick ? 250_000 : 1_000_000);
  reg.add("kmalloc_kfree_ns_2e5", small, "ns");
  reg.add("kmalloc_kfree_ns", big, "ns", "kmalloc_kfree_ns_2e5");
  // Same with call-site capture off (KASAN, quarantine, ledger still on): the allocator's own cost.
  reg.add("kmalloc_kfree_nostacks_ns", await kmallocKfreeNs(quick ? 250_000 : 1_000_000, false), "ns");
}
