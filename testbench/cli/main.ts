// The `vdtb` command. Must stay the first import: tsyringe needs the Reflect polyfill.
import "../polyfill.js";
import { Command } from "commander";
import { boards, resolveBoard } from "../index.js";

const program = new Command("vdtb").description("virtual device-driver testbench");

program
  .command("run")
  .description("boot a board and print what it is made of")
  .option("-b, --board <name>", "board to boot", "pc")
  .action((opts: { board: string }) => {
    const board = resolveBoard(opts.board);
    console.log("vdtb");
    console.log(`board ${board.name} (${board.profile}), known boards: ${Object.keys(boards).join(", ")}`);
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
