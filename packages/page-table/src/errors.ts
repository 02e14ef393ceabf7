/**
 * Thrown on any access through a stale page-table reference: a table that was freed (by
 * free_pgtables, a huge-page zap, ...) after the reference was taken. mmlab's stand-in for
 * the use-after-free KASAN would report; mm-core relies on it to expose races such as a
 * fault that walked the tables, yielded, and then wrote through a table freed meanwhile.
 */
export class PageTableUseAfterFree extends Error {
  /** "pgd" | "p4d" | "pud" | "pmd" | "pte" */
  readonly level: string;
  /** First byte address the freed table covered. */
  readonly address: number;
  /** The label given to setFreeContext() when the table was freed ("" if none was set). */
  readonly freedBy: string;

  constructor(level: string, address: number, addressHex: string, freedBy: string, pfn: number) {
    super(
      `@mmlab/page-table: use-after-free of the ${level.toUpperCase()} table for ${addressHex} ` +
        `(pfn 0x${pfn.toString(16)}), freed by ${freedBy === "" ? "<no free context set>" : `"${freedBy}"`}`,
    );
    this.name = "PageTableUseAfterFree";
    this.level = level;
    this.address = address;
    this.freedBy = freedBy;
  }
}
