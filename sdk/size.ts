/** Sizes a device model takes as an option (VRAM, card memory): normalized the way hardware sizes are. */

/**
 * The smallest power of two that holds `requested`, between `min` and `max` (both powers of two,
 * `min` ≤ `max`): a size a BAR can decode. `undefined`, NaN or ±Infinity gives `fallback`; zero
 * or a negative size gives `min`, anything above `max` gives `max`.
 * @example `powerOfTwoSize(3 << 20, { fallback: 16 << 20, min: 64 << 10, max: 256 << 20 })` is 4 MiB.
 * @public
 */
export function powerOfTwoSize(requested: number | undefined, bounds: { readonly fallback: number; readonly min: number; readonly max: number }): number {
  if (requested === undefined || !Number.isFinite(requested)) return bounds.fallback;
  let size = bounds.min;
  while (size < requested && size < bounds.max) size *= 2;
  return size;
}
