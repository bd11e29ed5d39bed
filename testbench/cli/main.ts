// The `vdtb` command. The bundle loads the Reflect polyfill first (tsup.config.ts injects it).
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { boards } from "../harness/board.js";
import { PROC_FILES } from "../kernel/procfs/index.js";
import { parseShard } from "../conformance/plan.js";
import { conformanceCommand, procCommand, replayCaseCommand, runCommand, traceCommand, VDTB_VERSION, type CliIo } from "./commands.js";
import { runScreenshot } from "./screenshot.js";

/** Exit code for bad arguments (as many Unix tools use). */
const EXIT_USAGE = 2;

const io: CliIo = {
  out: (l) => process.stdout.write(l + "\n"),
  err: (l) => process.stderr.write(l + "\n"),
  progress: Boolean(process.stderr.isTTY) && !process.env.CI,
};

function positiveInt(what: string) {
  return (v: string): number => {
    if (!/^\d+$/.test(v) || Number(v) < 1) throw new InvalidArgumentError(`${what} must be a positive integer (got "${v}")`);
    return Number(v);
  };
}
function seedArg(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) > 0xffffffff) throw new InvalidArgumentError(`seed must be an integer from 0 to 4294967295 (got "${v}")`);
  return Number(v);
}
function shardArg(v: string): { index: number; count: number } {
  try {
    return parseShard(v);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}
const boardOption = () => new Option("-b, --board <name>", "board to boot").choices(Object.keys(boards)).default("pc");
const seedOption = () => new Option("-s, --seed <n>", "simulation seed").argParser(seedArg).default(1);

const program = new Command("vdtb")
  .description("virtual device-driver testbench: Linux-shaped drivers on a simulated SoC, with deterministic bug detectors")
  .version(VDTB_VERSION)
  .exitOverride()
  .showHelpAfterError("(run vdtb --help for usage)");

program
  .command("run")
  .description("the main job: boot the board with every built-in device and driver, run a demo, the built-in conformance, and write report, PNG and trace under out/")
  .addOption(boardOption())
  .addOption(seedOption())
  .option("-o, --out <dir>", "output folder", "out")
  .option("--seeds <n>", "seeds per conformance case", positiveInt("--seeds"), 1)
  .option("--quick", "conformance on this board only", false)
  .action(async (o: { board: string; seed: number; out: string; seeds: number; quick: boolean }) => {
    process.exitCode = await runCommand(o, io);
  });

program
  .command("conformance")
  .description("run the hygiene and class suites for every built-in driver across boards and seeds")
  .option("--shard <i/n>", "run shard i of n (round-robin over the plan)", shardArg)
  .option("--seeds <n>", "seeds per case (1..n)", positiveInt("--seeds"), 1)
  .option("--filter <text>", "only cases whose id contains text")
  .option("--json <file>", "write the JSON report")
  .option("--junit <file>", "write the JUnit XML report")
  .option("--html <file>", "write the HTML report")
  .action(async (o: { shard?: { index: number; count: number }; seeds: number; filter?: string; json?: string; junit?: string; html?: string }) => {
    process.exitCode = await conformanceCommand(o, io);
  });

program
  .command("proc")
  .description("print a /proc file of the board with its built-in devices bound")
  .addArgument(program.createArgument("<file>", "the file").choices([...PROC_FILES]))
  .addOption(boardOption())
  .addOption(seedOption())
  .action(async (file: string, o: { board: string; seed: number }) => {
    process.exitCode = await procCommand(file, o, io);
  });

program
  .command("screenshot")
  .description("draw a test pattern into /dev/fb0 through mmap, wait for vblank, and write the frame as PNG")
  .addOption(boardOption())
  .addOption(seedOption())
  .option("-o, --out <file>", "PNG file", "fb0.png")
  .addOption(new Option("--memory <where>", "framebuffer memory").choices(["vram", "sysram"]).default("vram"))
  .action(async (o: { board: string; seed: number; out: string; memory: "vram" | "sysram" }) => {
    const r = await runScreenshot(o);
    io.out(`wrote ${r.path} (${r.width}x${r.height}, sha256 ${r.checksum})`);
    if (r.reports.length) io.err(`reports:\n${r.reports.join("\n")}`);
    process.exitCode = r.reports.length ? 1 : 0;
  });

program
  .command("trace")
  .description("run the demo workload and write a Chrome/Perfetto trace (MMIO with register names, DMA, IRQs, faults)")
  .addOption(boardOption())
  .addOption(seedOption())
  .option("-o, --out <file>", "trace file", "trace.json")
  .action(async (o: { board: string; seed: number; out: string }) => {
    process.exitCode = await traceCommand(o, io);
  });

program
  .command("replay")
  .description("run one conformance case again, e.g. vdtb replay 3 'vfb:framebuffer/pan@arm#3'")
  .argument("<seed>", "seed of the case", seedArg)
  .argument("<case>", "case id from the report")
  .action(async (seed: number, id: string) => {
    process.exitCode = await replayCaseCommand(seed, id, io);
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof CommanderError) {
    // Help and version exit 0; usage errors were already printed by commander.
    process.exitCode = err.exitCode === 0 ? 0 : EXIT_USAGE;
    return;
  }
  io.err(`vdtb: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  process.exitCode = 1;
});
