/**
 * Runs every benchmark, prints a table and writes bench/results.json (see BENCHMARKS.md).
 * `--quick` keeps the whole run short; `--rss-child` is the fresh-process RSS probe.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { MetricRegistry, msPerRun, nsPerOp, sink } from "./harness.js";
import { Testbench, bootSoc } from "../testbench/index.js";
import { PteFlag } from "../testbench/soc/pagetable.js";
import type { Cpu } from "../testbench/soc/cpu.js";
import { mmioMetrics } from "./metrics/mmio.js";
import { kmallocMetrics } from "./metrics/kmalloc.js";
import { userStore32Mmap } from "./user-mmap.js";
import { conformanceAllSeconds } from "./metrics/conformance.js";
import { dmaMetrics } from "./metrics/dma.js";

const quick = process.argv.includes("--quick");
/** `--only a,b`: run only the groups whose name contains one of these words (e.g. `--only dma,miss`). */
const onlyArg = process.argv.indexOf("--only");
const only = onlyArg >= 0 ? (process.argv[onlyArg + 1] ?? "").split(",").filter(Boolean) : [];
const wanted = (group: string): boolean => only.length === 0 || only.some((w) => group.includes(w));
const opts = quick ? { warmup: 2, samples: 7, sampleMs: 40 } : { warmup: 5, samples: 21, sampleMs: 150 };

/** x86_64 linear-map base (0xffff888000000000) as a signed value. */
const PAGE_OFFSET = -0x778000000000;
const PAGE = 4096;

async function bootMapped(coherent: boolean): Promise<{ tb: Testbench; cpu: Cpu }> {
  const tb = await Testbench.boot({ board: "pc", seed: 1, overrides: { coherent } });
  const { mmu, cpu } = tb.soc;
  let next = 0x1000000;
  const alloc = (): number => {
    const p = next;
    next += PAGE;
    return p;
  };
  const root = mmu.createRoot(alloc);
  mmu.map(root, PAGE_OFFSET, 0, 256 * 1024 * 1024, PteFlag.Write | PteFlag.Global | PteFlag.Huge, alloc);
  cpu.switchTo(root, 1);
  return { tb, cpu };
}

// ---- baselines (each its own function) --------------------------------------------------

function rawDataviewRead(): number {
  const dv = new DataView(new ArrayBuffer(PAGE));
  for (let i = 0; i < PAGE; i += 4) dv.setUint32(i, i * 2654435761, true);
  return nsPerOp((n) => {
    let acc = 0;
    for (let i = 0; i < n; i++) {
      const b = (i & 15) << 2;
      acc ^= dv.getUint32(b, true) ^ dv.getUint32(b + 256, true) ^ dv.getUint32(b + 512, true) ^ dv.getUint32(b + 768, true)
        ^ dv.getUint32(b + 1024, true) ^ dv.getUint32(b + 1280, true) ^ dv.getUint32(b + 1536, true) ^ dv.getUint32(b + 1792, true)
        ^ dv.getUint32(b + 2048, true) ^ dv.getUint32(b + 2304, true) ^ dv.getUint32(b + 2560, true) ^ dv.getUint32(b + 2816, true)
        ^ dv.getUint32(b + 3072, true) ^ dv.getUint32(b + 3328, true) ^ dv.getUint32(b + 3584, true) ^ dv.getUint32(b + 3840, true);
    }
    sink.value ^= acc;
  }, 16, opts);
}

function rawDataviewWrite(): number {
  const dv = new DataView(new ArrayBuffer(PAGE));
  return nsPerOp((n) => {
    for (let i = 0; i < n; i++) {
      const b = (i & 15) << 2;
      dv.setUint32(b, i, true); dv.setUint32(b + 256, i, true); dv.setUint32(b + 512, i, true); dv.setUint32(b + 768, i, true);
      dv.setUint32(b + 1024, i, true); dv.setUint32(b + 1280, i, true); dv.setUint32(b + 1536, i, true); dv.setUint32(b + 1792, i, true);
      dv.setUint32(b + 2048, i, true); dv.setUint32(b + 2304, i, true); dv.setUint32(b + 2560, i, true); dv.setUint32(b + 2816, i, true);
      dv.setUint32(b + 3072, i, true); dv.setUint32(b + 3328, i, true); dv.setUint32(b + 3584, i, true); dv.setUint32(b + 3840, i, true);
    }
    sink.value ^= dv.getUint32(0, true);
  }, 16, opts);
}

// ---- SoC hot paths ------------------------------------------------------------------------

/** Kernel loads from one hot cached page: TLB hit + cache hit. */
function cpuLoad32TlbHit(cpu: Cpu): number {
  const va = PAGE_OFFSET + 0x200000;
  for (let i = 0; i < PAGE; i += 4) cpu.store32(va + i, i);
  return nsPerOp((n) => {
    let acc = 0;
    for (let i = 0; i < n; i++) {
      const a = va + ((i & 15) << 2);
      acc ^= cpu.load32(a) ^ cpu.load32(a + 256) ^ cpu.load32(a + 512) ^ cpu.load32(a + 768)
        ^ cpu.load32(a + 1024) ^ cpu.load32(a + 1280) ^ cpu.load32(a + 1536) ^ cpu.load32(a + 1792)
        ^ cpu.load32(a + 2048) ^ cpu.load32(a + 2304) ^ cpu.load32(a + 2560) ^ cpu.load32(a + 2816)
        ^ cpu.load32(a + 3072) ^ cpu.load32(a + 3328) ^ cpu.load32(a + 3584) ^ cpu.load32(a + 3840);
    }
    sink.value ^= acc;
  }, 16, opts);
}

/** Kernel stores to one hot cached page. */
function cpuStore32TlbHit(cpu: Cpu): number {
  const va = PAGE_OFFSET + 0x300000;
  return nsPerOp((n) => {
    for (let i = 0; i < n; i++) {
      const a = va + ((i & 15) << 2);
      cpu.store32(a, i); cpu.store32(a + 256, i); cpu.store32(a + 512, i); cpu.store32(a + 768, i);
      cpu.store32(a + 1024, i); cpu.store32(a + 1280, i); cpu.store32(a + 1536, i); cpu.store32(a + 1792, i);
      cpu.store32(a + 2048, i); cpu.store32(a + 2304, i); cpu.store32(a + 2560, i); cpu.store32(a + 2816, i);
      cpu.store32(a + 3072, i); cpu.store32(a + 3328, i); cpu.store32(a + 3584, i); cpu.store32(a + 3840, i);
    }
  }, 16, opts);
}

/**
 * Loads that always miss the TLB: 8192 virtual pages (32× the TLB) are cycled, each a separate
 * 4 KiB mapping so every miss is a full 4-level walk. They alias 16 physical pages at offsets in
 * distinct cache sets, so the data cache hits and the figure is the TLB miss + walk cost.
 */
function cpuLoad32TlbMiss(tb: Testbench): number {
  const { mmu, cpu } = tb.soc;
  let next = 0x2000000;
  const alloc = (): number => {
    const p = next;
    next += PAGE;
    return p;
  };
  const base = PAGE_OFFSET + 0x40000000; // a separate 4 KiB-mapped window
  const pages = 8192;
  for (let i = 0; i < pages; i++) mmu.map(cpu.root, base + i * PAGE, 0x400000 + (i & 15) * PAGE, PAGE, PteFlag.Write | PteFlag.Global, alloc);
  tb.soc.tlb.flushAll();
  return nsPerOp((n) => {
    let acc = 0;
    let p = 0;
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < 16; k++) {
        acc ^= cpu.load32(base + p * PAGE + (p & 15) * 64);
        p = (p + 1) & (pages - 1);
      }
    }
    sink.value ^= acc;
  }, 16, opts);
}

async function bootMs(): Promise<number> {
  return msPerRun(async () => {
    const tb = await Testbench.boot({ board: "pc" });
    await tb.dispose();
  }, { warmup: quick ? 20 : 50, samples: quick ? 41 : 101 });
}

/** The SoC part of boot alone (no kernel), to attribute boot_ms. */
async function bootSocMs(): Promise<number> {
  return msPerRun(async () => {
    const soc = await bootSoc({ board: "pc" });
    await soc.dispose();
  }, { warmup: quick ? 20 : 50, samples: quick ? 41 : 101 });
}

/** RSS of a fresh process after booting a 4 GiB board. */
function rss4GiB(): number {
  const r = spawnSync(process.execPath, ["--expose-gc", process.argv[1]!, "--rss-child"], { encoding: "utf8" });
  const m = /rss=(\d+(?:\.\d+)?)/.exec(r.stdout);
  if (!m) throw new Error(`rss child failed: ${r.stderr || r.stdout}`);
  return Number(m[1]);
}

async function rssChild(): Promise<void> {
  const GiB = 1024 ** 3;
  const tb = await Testbench.boot({ board: "pc", overrides: { ram: [{ base: 0, size: 2 * GiB }, { base: 4 * GiB, size: 2 * GiB }] } });
  (globalThis as { gc?: () => void }).gc?.();
  const rss = process.memoryUsage().rss / (1024 * 1024);
  process.stdout.write(`rss=${rss.toFixed(1)} touched=${tb.soc.ram.touchedPages}\n`);
  await tb.dispose();
}

async function main(): Promise<void> {
  if (process.argv.includes("--rss-child")) return rssChild();
  const reg = new MetricRegistry();
  const t0 = Date.now();
  reg.add("raw_dataview_read_ns", rawDataviewRead(), "ns");
  reg.add("raw_dataview_write_ns", rawDataviewWrite(), "ns");
  if (wanted("cpu_tlb_hit")) {
    const { tb, cpu } = await bootMapped(false);
    reg.add("cpu_load32_tlb_hit_ns", cpuLoad32TlbHit(cpu), "ns", "raw_dataview_read_ns");
    reg.add("cpu_store32_tlb_hit_ns", cpuStore32TlbHit(cpu), "ns", "raw_dataview_write_ns");
    await tb.dispose();
  }
  if (wanted("cpu_tlb_miss")) {
    const { tb } = await bootMapped(true);
    reg.add("cpu_load32_tlb_miss_ns", cpuLoad32TlbMiss(tb), "ns");
    await tb.dispose();
  }
  if (wanted("boot")) {
    reg.add("boot_ms", await bootMs(), "ms");
    reg.add("boot_soc_ms", await bootSocMs(), "ms");
  }
  if (wanted("rss")) reg.add("rss_mb_4gib_idle", rss4GiB(), "MB");
  if (wanted("mmio")) await mmioMetrics(reg, opts);
  if (wanted("user_store32_mmap")) reg.add("user_store32_mmap_ns", await userStore32Mmap(opts), "ns", "raw_dataview_write_ns");
  if (wanted("kmalloc")) await kmallocMetrics(reg, quick);
  if (wanted("dma")) await dmaMetrics(reg, quick);
  if (wanted("conformance")) reg.add("conformance_all_s", await conformanceAllSeconds(), "s");
  console.log(reg.table());
  console.log(`(${((Date.now() - t0) / 1000).toFixed(1)} s${quick ? ", --quick" : ""}; medians of per-sample process CPU time, so load from other processes does not inflate them)`);
  if (only.length) return; // a partial run does not overwrite the full results
  const out = resolve(process.cwd(), "bench/results.json");
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(reg.toJSON(), null, 2) + "\n");
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
