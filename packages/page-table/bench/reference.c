/*
 * The C reference of bench/scale.ts: the same 4-level page-table work as @mmlab/page-table,
 * written plainly in C with the same data layout, so that the TypeScript figures have a
 * floor to be compared with (built with `cc -O2` by scale.ts; not part of the package).
 *
 *   frames   uint16_t page[] (flags | refcount << 6 | mapcount << 11), bump
 *            allocator + stack of free runs, as PhysMem (384 GiB, 100,663,296 frames)
 *   tables   slabs of 256 tables x 512 uint64_t entries; directories keep child ids beside
 *            their entries; a pagetable frame per table
 *   populate table by table: walk from the PGD allocating PUD/PMD/PTE tables, then runs of
 *            consecutive frames written into the 512 entries (populateRange)
 *   zap      one step per PMD entry (each walks down from the PGD, as ZapCursor does at the
 *            kernel's cond_resched() points): clear each PTE, count rss, drop the mapcount,
 *            gather the page in an mmu_gather of 8 + 19 x 510 slots; a full gather forces a
 *            flush that frees the batch into runs (release_pages). The PTE loop is cut as
 *            zapPteRange cuts it: the common case runs up to the last free gather slot
 *            without a per-PTE "gather full?" test
 *   free     free_pgd_range: PTE, PMD and PUD tables unlinked and queued in table batches of
 *            509, whose frames are freed (tlb_remove_table / tlb_table_flush)
 *
 * Usage: reference GB ROUNDS   (prints one JSON line of ns/page per phase, best and first)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KIND_ANON 1
#define KIND_PAGETABLE 3
#define PAGE_FLAGS 0x3f
#define REF_ONE (1 << 6)
#define MAP_SHIFT 11
#define MAP_ONE (1 << MAP_SHIFT)
#define LO_TABLE 0x67ULL
#define PTE_FLAGS 0x67ULL /* present, rw, user, accessed, dirty */
#define BUNDLE 8
#define BATCH 510
#define BATCH_COUNT 19
#define GATHER_MAX (BUNDLE + BATCH_COUNT * BATCH)
#define TABLE_BATCH 509
#define SLAB_TABLES 256

/* ------------------------------------------------------------------ frames (PhysMem) */
static uint16_t *page;
static int64_t total_frames, next_fresh, nr_free;
static int64_t *run_start, *run_len, run_count, run_cap, run_got;

static void push_run_raw(int64_t s, int64_t n) {
  if (run_count == run_cap) {
    run_cap *= 2;
    run_start = realloc(run_start, run_cap * sizeof *run_start);
    run_len = realloc(run_len, run_cap * sizeof *run_len);
  }
  run_start[run_count] = s;
  run_len[run_count++] = n;
}

static void push_run(int64_t s, int64_t n) {
  if (s + n == next_fresh) {
    next_fresh = s;
    while (run_count > 0 && run_start[run_count - 1] + run_len[run_count - 1] == next_fresh)
      next_fresh = run_start[--run_count];
    return;
  }
  if (run_count > 0) {
    int64_t t = run_count - 1;
    if (run_start[t] + run_len[t] == s) { run_len[t] += n; return; }
    if (s + n == run_start[t]) { run_start[t] = s; run_len[t] += n; return; }
  }
  push_run_raw(s, n);
}

static int64_t alloc_run(int code, int64_t want, int mapcount) {
  int64_t pfn, got;
  if (run_count > 0) {
    int64_t t = run_count - 1;
    pfn = run_start[t];
    got = want < run_len[t] ? want : run_len[t];
    if (got == run_len[t]) run_count = t;
    else { run_start[t] += got; run_len[t] -= got; }
  } else {
    int64_t left = total_frames - next_fresh;
    if (left == 0) return -12;
    pfn = next_fresh;
    got = want < left ? want : left;
    next_fresh += got;
  }
  for (int64_t i = 0; i < got; i++) { page[pfn + i] = code | REF_ONE | mapcount << MAP_SHIFT; }
  nr_free -= got;
  run_got = got;
  return pfn;
}

static void free_frame(int64_t pfn) {
  page[pfn] = 0;
  nr_free++;
  push_run(pfn, 1);
}

/* release_pages() of a gathered batch: order-0 anonymous pages, last reference */
static void free_batch(const uint32_t *pages, int n) {
  int64_t rs = -1, re = -1;
  for (int i = 0; i < n; i++) {
    uint32_t pfn = pages[i];
    if (page[pfn] != (KIND_ANON | REF_ONE)) abort();
    page[pfn] = 0;
    if (pfn == re) re++;
    else { if (re != rs) push_run(rs, re - rs); rs = pfn; re = pfn + 1; }
  }
  if (re != rs) push_run(rs, re - rs);
  nr_free += n;
}

/* ------------------------------------------------------------------ tables (TablePool) */
struct pool {
  uint64_t **slabs;  /* 256 tables x 512 entries */
  uint32_t **child;  /* directories: child id per entry */
  uint32_t *pfn;
  uint16_t *used;
  int32_t *free_ids;
  int64_t nslabs, next_id, nfree, cap;
  int with_children;
};
static struct pool ptes, dirs;

static void pool_init(struct pool *p, int with_children) {
  memset(p, 0, sizeof *p);
  p->with_children = with_children;
  p->cap = 1 << 20;
  p->slabs = calloc(p->cap / SLAB_TABLES, sizeof *p->slabs);
  p->child = calloc(p->cap / SLAB_TABLES, sizeof *p->child);
  p->pfn = calloc(p->cap, sizeof *p->pfn);
  p->used = calloc(p->cap, sizeof *p->used);
  p->free_ids = calloc(p->cap, sizeof *p->free_ids);
  p->next_id = 1;
}

static inline uint64_t *entries(struct pool *p, uint32_t id) {
  return p->slabs[id >> 8] + (size_t)(id & 255) * 512;
}
static inline uint32_t *children(struct pool *p, uint32_t id) {
  return p->child[id >> 8] + (size_t)(id & 255) * 512;
}

static uint32_t table_alloc(struct pool *p) {
  int64_t pfn = alloc_run(KIND_PAGETABLE, 1, 0);
  if (pfn < 0) abort();
  uint32_t id;
  if (p->nfree > 0) id = p->free_ids[--p->nfree];
  else {
    id = p->next_id++;
    if (id >= p->cap) abort();
    while ((id >> 8) >= p->nslabs) {
      p->slabs[p->nslabs] = calloc(SLAB_TABLES * 512, sizeof(uint64_t));
      if (p->with_children) p->child[p->nslabs] = calloc(SLAB_TABLES * 512, sizeof(uint32_t));
      p->nslabs++;
    }
  }
  p->pfn[id] = pfn;
  p->used[id] = 0;
  return id;
}

static void link_table(uint32_t dir, int i, struct pool *cp, uint32_t child) {
  entries(&dirs, dir)[i] = ((uint64_t)cp->pfn[child] << 12) | LO_TABLE;
  children(&dirs, dir)[i] = child;
  dirs.used[dir]++;
}

/* ------------------------------------------------------------------ mmu_gather */
static uint32_t gather[GATHER_MAX];
static int gather_nr, gather_cap, batches_in_use, batch_count;
static int64_t tlb_start, tlb_end, tlb_flushes;
static uint32_t table_batch[TABLE_BATCH];
static int nr_tables;

static void tlb_table_flush(void) {
  for (int i = 0; i < nr_tables; i++) free_frame(table_batch[i]);
  nr_tables = 0;
}
static void tlb_flush_mmu(void) {
  if (tlb_end != 0) { tlb_flushes++; tlb_start = INT64_MAX; tlb_end = 0; }
  tlb_table_flush();
  if (gather_nr) free_batch(gather, gather_nr);
  gather_nr = 0;
  gather_cap = BUNDLE;
  batches_in_use = 0;
}
static int tlb_next_batch(void) {
  if (batches_in_use < batch_count) { batches_in_use++; gather_cap += BATCH; return 1; }
  if (batch_count == BATCH_COUNT) return 0;
  batch_count++;
  batches_in_use++;
  gather_cap += BATCH;
  return 1;
}
static void free_tlb(uint32_t pfn, int64_t pn) {
  if (pn < tlb_start) tlb_start = pn;
  if (pn + 1 > tlb_end) tlb_end = pn + 1;
  table_batch[nr_tables++] = pfn;
  if (nr_tables == TABLE_BATCH) tlb_table_flush();
}

/* ------------------------------------------------------------------ the work */
static uint32_t pgd;
static int64_t rss_anon;

static uint32_t walk_alloc(int64_t pn) {
  uint32_t tab = pgd;
  int idx[3] = {(int)((pn >> 27) & 511), (int)((pn >> 18) & 511), (int)((pn >> 9) & 511)};
  for (int l = 0; l < 3; l++) {
    uint64_t e = entries(&dirs, tab)[idx[l]];
    if (e == 0) {
      struct pool *cp = l == 2 ? &ptes : &dirs;
      link_table(tab, idx[l], cp, table_alloc(cp));
    }
    tab = children(&dirs, tab)[idx[l]];
  }
  return tab;
}

static void populate(int64_t s, int64_t e) {
  for (int64_t pn = s; pn < e;) {
    int64_t next = ((pn >> 9) + 1) << 9;
    if (next > e) next = e;
    uint32_t tab = walk_alloc(pn);
    uint64_t *ent = entries(&ptes, tab);
    int k = pn & 511, kend = k + (int)(next - pn), mapped = 0;
    while (k < kend) {
      int64_t pfn = alloc_run(KIND_ANON, kend - k, 1);
      if (pfn < 0) abort();
      for (int j = 0; j < run_got; j++) ent[k + j] = ((uint64_t)(pfn + j) << 12) | PTE_FLAGS;
      k += run_got;
      mapped += run_got;
    }
    ptes.used[tab] += mapped;
    rss_anon += mapped;
    pn = next;
  }
}

/* zap_pte_range() of one PMD entry, cut as memory.ts cuts it: the common case (an order-0
 * anonymous page mapped once) in an inner loop bounded by the free gather slots, so without a
 * per-PTE "gather full?" test, counted by how far gather_nr moved; anything else in one
 * general step */
static int64_t zap_pte_range(uint32_t tab, int64_t pn0, int k, int kend) {
  uint64_t *ent = entries(&ptes, tab);
  int64_t cleared = 0;
  for (;;) {
    int n = 0, force = 0, anon = 0;
    while (k < kend && ent[k] == 0) k++; /* up to the first present PTE */
    int first = k, last = k;
    while (k < kend) {
      int stop = k + (gather_cap - gather_nr);
      if (stop > kend) stop = kend;
      int nr_run = gather_nr;
      for (; k < stop; k++) {
        uint64_t e = ent[k];
        if (e == 0) continue;
        uint32_t pfn = (uint32_t)((e >> 12) & 0xffffffffffULL);
        if (page[pfn] != (KIND_ANON | REF_ONE | MAP_ONE)) break; /* the general step */
        ent[k] = 0;
        page[pfn] = KIND_ANON | REF_ONE;
        gather[gather_nr++] = pfn;
        last = k;
      }
      n += gather_nr - nr_run;
      anon += gather_nr - nr_run;
      if (k < stop) {
        uint64_t e = ent[k];
        ent[k] = 0;
        n++;
        last = k++;
        uint32_t pfn = (uint32_t)((e >> 12) & 0xffffffffffULL);
        uint16_t w = page[pfn];
        if ((w & PAGE_FLAGS) != KIND_ANON) abort();
        anon++;
        if (w >> MAP_SHIFT == 1) page[pfn] = w - MAP_ONE; else abort();
        gather[gather_nr++] = pfn;
      }
      if (gather_nr == gather_cap && !tlb_next_batch()) { force = 1; break; }
    }
    rss_anon -= anon;
    ptes.used[tab] -= n;
    cleared += n;
    if (n != 0) {
      if (pn0 + first < tlb_start) tlb_start = pn0 + first;
      if (pn0 + last + 1 > tlb_end) tlb_end = pn0 + last + 1;
    }
    if (!force) break;
    tlb_flush_mmu();
    if (k == kend) break;
  }
  return cleared;
}

/* one ZapCursor step: one PMD entry, walking down from the PGD */
static int64_t zap_step(int64_t pn) {
  uint32_t tab = pgd;
  int idx[3] = {(int)((pn >> 27) & 511), (int)((pn >> 18) & 511), (int)((pn >> 9) & 511)};
  for (int l = 0; l < 2; l++) {
    if (entries(&dirs, tab)[idx[l]] == 0) return 0;
    tab = children(&dirs, tab)[idx[l]];
  }
  if (entries(&dirs, tab)[idx[2]] == 0) return 0;
  return zap_pte_range(children(&dirs, tab)[idx[2]], pn & ~511LL, (int)(pn & 511), 512);
}

static void pool_free(struct pool *p, uint32_t id) {
  if (p->used[id] != 0) abort();
  p->free_ids[p->nfree++] = id;
}

/* free_pgd_range() of [s, e) (floor 0, ceiling 0): every PTE, PMD and PUD table under it */
static void free_range(int64_t s, int64_t e) {
  uint32_t *pgdc = children(&dirs, pgd);
  for (int64_t pn = s; pn < e; pn = ((pn >> 27) + 1) << 27) {
    int i = (int)((pn >> 27) & 511);
    uint32_t pud = pgdc[i];
    if (!pud) continue;
    for (int j = 0; j < 512; j++) {
      uint32_t pmd = children(&dirs, pud)[j];
      if (!pmd) continue;
      for (int m = 0; m < 512; m++) {
        uint32_t pte = children(&dirs, pmd)[m];
        if (!pte) continue;
        pool_free(&ptes, pte);
        entries(&dirs, pmd)[m] = 0;
        children(&dirs, pmd)[m] = 0;
        dirs.used[pmd]--;
        free_tlb(ptes.pfn[pte], (pn & ~((1LL << 27) - 1)) + ((int64_t)j << 18) + ((int64_t)m << 9));
      }
      pool_free(&dirs, pmd);
      entries(&dirs, pud)[j] = 0;
      children(&dirs, pud)[j] = 0;
      dirs.used[pud]--;
      free_tlb(dirs.pfn[pmd], (pn & ~((1LL << 27) - 1)) + ((int64_t)j << 18));
    }
    pool_free(&dirs, pud);
    entries(&dirs, pgd)[i] = 0;
    pgdc[i] = 0;
    dirs.used[pgd]--;
    free_tlb(dirs.pfn[pud], pn & ~((1LL << 27) - 1));
  }
}

/* CPU time of the process (user + system): what a busy shared machine disturbs least */
static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv) {
  double gb = argc > 1 ? atof(argv[1]) : 320;
  int rounds = argc > 2 ? atoi(argv[2]) : 2;
  total_frames = 384LL << 18; /* 384 GiB of 4 KiB frames, as PhysMem's default */
  page = calloc(total_frames, sizeof *page);
  run_cap = 64;
  run_start = malloc(run_cap * sizeof *run_start);
  run_len = malloc(run_cap * sizeof *run_len);
  nr_free = total_frames;
  alloc_run(4, 1, 0); /* the zero page */
  pool_init(&ptes, 0);
  pool_init(&dirs, 1);
  pgd = table_alloc(&dirs);
  const int64_t base = 0x7f0000000000LL >> 12;
  const int64_t pages = (int64_t)(gb * (1 << 18));
  double best[3] = {1e300, 1e300, 1e300}, first[3] = {0, 0, 0};
  int64_t steps = 0;
  for (int r = 0; r < rounds; r++) {
    double t0 = now_ns();
    populate(base, base + pages);
    double t1 = now_ns();
    gather_nr = 0; gather_cap = BUNDLE; batches_in_use = 0; batch_count = 0; nr_tables = 0;
    tlb_start = INT64_MAX; tlb_end = 0;
    int64_t cleared = 0;
    steps = 0;
    for (int64_t pn = base; pn < base + pages; pn = ((pn >> 9) + 1) << 9) {
      cleared += zap_step(pn); /* cond_resched() after each */
      steps++;
    }
    if (tlb_end != 0) { tlb_flushes++; tlb_start = INT64_MAX; tlb_end = 0; } /* tlb_end_vma */
    double t2 = now_ns();
    free_range(base, base + pages);
    tlb_flush_mmu(); /* tlb_finish_mmu */
    double t3 = now_ns();
    if (cleared != pages || rss_anon != 0 || nr_free != total_frames - 1 - 1) {
      fprintf(stderr, "reference: teardown left pages behind (%lld cleared)\n", (long long)cleared);
      return 1;
    }
    double t[3] = {(t1 - t0) / pages, (t2 - t1) / pages, (t3 - t2) / pages};
    for (int i = 0; i < 3; i++) {
      if (r == 0) first[i] = t[i];
      if (t[i] < best[i]) best[i] = t[i];
    }
  }
  printf("{\"gb\":%g,\"pages\":%lld,\"rounds\":%d,\"steps\":%lld,"
         "\"populate\":{\"best\":%.3f,\"first\":%.3f},\"zap\":{\"best\":%.3f,\"first\":%.3f},"
         "\"freePgtables\":{\"best\":%.3f,\"first\":%.3f}}\n",
         gb, (long long)pages, rounds, (long long)steps, best[0], first[0], best[1], first[1],
         best[2], first[2]);
  return 0;
}
