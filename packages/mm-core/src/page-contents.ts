/**
 * Page contents, modelled minimally: a few 32-bit words per physical frame, kept beside a
 * PhysMem (in a WeakMap, so @mmlab/page-table stays unchanged) only when a test or scenario
 * enables them. The kernel paths that move data keep them right: do_anonymous_page() clears
 * a new page (clear_user_highpage), wp_page_copy() copies the old page into the new one
 * (cow_user_page / copy_user_highpage) BEFORE it takes the page-table lock to install it,
 * which is the window the 6.4 fork race needs. The zero page reads as zeros.
 *
 *   data[pfn * words + i]    word i of frame pfn (Uint32Array, totalFrames * words)
 */
import type { PhysMem } from "@mmlab/page-table";

/** The contents of every frame of one PhysMem. */
export interface PageContents {
  /** Words modelled per 4 KiB page. */
  readonly words: number;
  readonly data: Uint32Array;
}

const contents = new WeakMap<PhysMem, PageContents>();

/**
 * Turns page contents on for `phys` (idempotent; the first call fixes `words`). Costs
 * totalFrames * words * 4 bytes: meant for small memories (tests, explore scenarios).
 */
export function enablePageContents(phys: PhysMem, words = 4): PageContents {
  const have = contents.get(phys);
  if (have !== undefined) return have;
  if (!Number.isInteger(words) || words < 1 || words > 1024) {
    throw new RangeError(`@mmlab/mm-core: page contents need 1..1024 words per page, got ${words}`);
  }
  const c: PageContents = { words, data: new Uint32Array(phys.totalFrames * words) };
  contents.set(phys, c);
  return c;
}

/** The page contents of `phys`, or null when they are not modelled. */
export function pageContentsOf(phys: PhysMem): PageContents | null {
  return contents.get(phys) ?? null;
}

/** include/linux/highmem.h: clear_user_highpage() — a fresh anonymous page reads as zeros. */
export function clearUserHighpage(phys: PhysMem, pfn: number): void {
  const c = contents.get(phys);
  if (c !== undefined) c.data.fill(0, pfn * c.words, (pfn + 1) * c.words);
}

/** include/linux/highmem.h: copy_user_highpage() — copy frame `from` into frame `to`. */
export function copyUserHighpage(phys: PhysMem, from: number, to: number): void {
  const c = contents.get(phys);
  if (c !== undefined) c.data.copyWithin(to * c.words, from * c.words, (from + 1) * c.words);
}
