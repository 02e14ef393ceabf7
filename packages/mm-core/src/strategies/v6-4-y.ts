/**
 * `v6.4.y`: `perVmaLock` (6.4.0) with the fix of its fork race, fb49c455323f "fork: lock VMAs
 * of the parent process when forking" (Suren Baghdasaryan; Fixes: 0bff0aaea03e; merged by
 * Linus on 2023-07-08 for 6.5-rc1, in linux-next as e2709559d10b on 2023-07-07 beside
 * f80365543ffa "mm: disable CONFIG_PER_VMA_LOCK until its fixed"; the series was Cc: stable
 * and "applies cleanly over ... stable 6.4.y"). dup_mmap() calls vma_start_write(mpnt) at the
 * top of its loop over the parent's VMAs, so a fault that would take the VMA lock falls back
 * to mmap_lock and waits for the fork. The earlier v4 of the patch (2023-07-05) locked all
 * VMAs before flush_cache_dup_mm(); the merged one locks each VMA as the loop reaches it.
 * munmap and the fault path are 6.4's.
 */
import type { MunmapStrategy } from "./strategy.js";
import { PER_VMA_LOCK } from "./v6-4.js";

export const V6_4_Y: MunmapStrategy = Object.freeze({
  ...PER_VMA_LOCK,
  name: "v6.4.y",
  kernel:
    "v6.4 per-VMA locks + fb49c455323f (fork: lock VMAs of the parent process when forking; 6.5-rc1, Cc: stable 6.4.y)",
  description:
    "perVmaLock with fork's fix: dup_mmap() write-locks each parent VMA before copying it",
  forkLocksVmas: true,
});
