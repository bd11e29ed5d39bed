// The `vdtb` command. The bundle loads the Reflect polyfill first (tsup.config.ts injects it).
import { Command } from "commander";
import { Testbench, boards } from "../index.js";

const program = new Command("vdtb").description("virtual device-driver testbench");

program
  .command("run")
  .description("boot a board and print its memory map")
  .option("-b, --board <name>", `board to boot (${Object.keys(boards).join(", ")})`, "pc")
  .option("-s, --seed <n>", "simulation seed", (v) => Number.parseInt(v, 10), 1)
  .action(async (opts: { board: string; seed: number }) => {
    const tb = await Testbench.boot({ board: opts.board, seed: opts.seed });
    try {
      console.log("vdtb");
      console.log(tb.memoryMap());
    } finally {
      await tb.dispose();
    }
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
