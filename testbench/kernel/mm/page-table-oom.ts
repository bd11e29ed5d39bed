/**
 * Thrown by the kernel's page-table allocator when no page is left for a table: the mapping
 * code that asked (vmalloc, vmap, ioremap) undoes its partial mapping and fails with NULL, as
 * Linux's "vmalloc error: ... failed to map pages".
 * @internal
 */
export class PageTableOom extends RangeError {
  constructor() {
    super("out of memory for a kernel page table");
    this.name = "PageTableOom";
  }
}
