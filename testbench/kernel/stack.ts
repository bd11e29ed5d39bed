/**
 * Call sites: where a driver called into the kernel. Capturing is cheap (V8 formats the stack
 * only when `.stack` is read), so every allocation can remember its site and a leak report can
 * name the driver line that allocated.
 */

/** A captured call site; `frames()` formats it lazily. @public */
export interface CallSite {
  readonly stack?: string;
}

const INTERNAL = [
  /[\\/]testbench[\\/]/,
  /[\\/]sdk[\\/]/,
  /node:internal/,
  /node:async_hooks/,
  /\bAsyncLocalStorage\./,
  /[\\/]node_modules[\\/](?!vdtb[\\/])/,
  /[\\/]dist[\\/](testbench|sdk|chunk-|cli|vitest)/,
  /[\\/]node_modules[\\/]vdtb[\\/]dist[\\/](testbench|sdk|chunk-|cli|vitest)/,
  /^\s*at (new )?Promise/,
  /^\s*at process\.processTicksAndRejections/,
  /^\s*at <anonymous>$/,
];

// Test files are user code wherever they live.
const TEST_FILE = /\.(test|spec)\.[cm]?[tj]s:/;

/** Capture the current call site (only the stack pointer work; no formatting). @internal */
export function captureSite(): CallSite {
  const holder: { stack?: string } = {};
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 16;
  Error.captureStackTrace(holder, captureSite);
  Error.stackTraceLimit = limit;
  return holder;
}

/** A site that records nothing (detectors off). @internal */
export const NO_SITE: CallSite = Object.freeze({});

/**
 * The caller's frames outside the testbench and SDK (driver, device, test code), innermost first,
 * as `fn (file:line:col)`. Falls back to the raw top frames when everything is internal.
 * @internal
 */
export function siteFrames(site: CallSite | undefined, max = 8): string[] {
  const raw = site?.stack;
  if (!raw) return [];
  const lines = raw.split("\n").filter((l) => /^\s*at /.test(l));
  const outside = lines.filter((l) => TEST_FILE.test(l) || !INTERNAL.some((re) => re.test(l)));
  return (outside.length ? outside : lines).slice(0, max).map((l) => l.trim().replace(/^at /, ""));
}

/** The innermost function name of a site (for KASAN's "in <function>"), or "unknown". @internal */
export function siteFunction(site: CallSite | undefined): string {
  const top = siteFrames(site, 1)[0];
  if (!top) return "unknown";
  const m = /^(?:async )?([^\s(]+)\s*\(/.exec(top);
  return m ? m[1]!.replace(/^Object\./, "") : "unknown";
}
