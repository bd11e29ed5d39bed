/**
 * The hygiene suite, for any driver: bind and unbind repeatedly; then, Linux's fail-nth made
 * systematic, fail the 1st, 2nd, ... fallible kernel call of probe (and of the driver's file
 * operations) until a run hits no injected failure. Every failing probe must return a negative
 * errno, and every run must leave the testbench clean.
 */
import { errname } from "../../../sdk/index.js";
import type { Testbench } from "../../harness/testbench.js";
import type { ConformanceSuite } from "../plan.js";

/** Bound on fallible calls one probe or workload may make before the suite gives up. @public */
export const HYGIENE_MAX_CALLS = 400;
const CYCLES = 3;

function assertClean(tb: Testbench, when: string): void {
  const found = tb.reports();
  if (found.length) throw new Error(`${when}: the testbench is not clean: ${found.map((r) => r.title).join(" | ")}`);
}

function injectedWhat(tb: Testbench): string {
  const f = tb.core.faults.injected[0];
  return f ? `call #${f.n} (${f.kind})` : "no call";
}

/** @public */
export const hygieneSuite: ConformanceSuite<Testbench> = {
  id: "hygiene",
  boards: ["pc", "arm", "pc32"],
  cases: [
    {
      name: "bind-unbind",
      async run({ tb }) {
        for (let i = 1; i <= CYCLES; i++) {
          const ret = await tb.bind();
          if (ret !== 0) throw new Error(`bind #${i}: probe returned ${ret} (${errname(ret)})`);
          if (tb.drivers.boundDevices().length === 0) throw new Error(`bind #${i}: no device was bound`);
          await tb.unbindAll();
          assertClean(tb, `after unbind #${i}`);
        }
      },
    },
    {
      name: "probe-fail-nth",
      async run({ tb, target }) {
        const driver = target.driver.name;
        for (let n = 1; n <= HYGIENE_MAX_CALLS; n++) {
          tb.core.faults.arm({ nth: n, driver });
          let ret: number;
          try {
            ret = await tb.bind();
          } finally {
            tb.core.faults.disarm();
          }
          const injected = tb.core.faults.injected.length > 0;
          if (!Number.isInteger(ret) || ret > 0) throw new Error(`failing ${injectedWhat(tb)}: probe returned ${String(ret)}, not 0 or a negative errno`);
          if (ret < 0 && !injected) throw new Error(`probe failed with ${errname(ret)} although no call was failed (n=${n})`);
          await tb.unbindAll();
          assertClean(tb, `failing ${injectedWhat(tb)} of probe${ret < 0 ? ` (probe returned -${errname(ret)})` : " (probe tolerated it)"}`);
          if (!injected) return;
        }
        throw new Error(`probe made more than ${HYGIENE_MAX_CALLS} fallible calls`);
      },
    },
    {
      name: "fops-fail-nth",
      async run({ tb, target }) {
        if (!target.exercise) return;
        const driver = target.driver.name;
        for (let n = 1; n <= HYGIENE_MAX_CALLS; n++) {
          const ret = await tb.bind();
          if (ret !== 0) throw new Error(`bind: probe returned ${ret} (${errname(ret)})`);
          tb.core.faults.arm({ nth: n, driver });
          try {
            await target.exercise(tb);
          } finally {
            tb.core.faults.disarm();
          }
          const injected = tb.core.faults.injected.length > 0;
          await tb.unbindAll();
          assertClean(tb, `failing ${injectedWhat(tb)} of the file operations`);
          if (!injected) return;
        }
        throw new Error(`the workload made more than ${HYGIENE_MAX_CALLS} fallible calls`);
      },
    },
  ],
};
