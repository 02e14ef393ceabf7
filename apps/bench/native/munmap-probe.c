/*
 * munmap-probe: the munmap experiment of mmlab-bench on the host's own kernel.
 *
 * One configuration per run: map SIZE bytes of anonymous memory, MADV_NOHUGEPAGE (or
 * MADV_HUGEPAGE with --thp), write one byte per 4 KiB page (timed: populate), let one actor
 * run for a baseline, tear the mapping down with one method while the actor keeps going,
 * and print what the actor saw as one JSON object on stdout. Repeated --reps times.
 *
 *   methods  munmap    munmap(2)
 *            mapfixed  mmap(MAP_FIXED, PROT_NONE) over the range: the old pages are zapped
 *                      under the mmap write lock, without munmap's downgrade
 *            dontneed  madvise(MADV_DONTNEED): the same zap, without the mmap write lock
 *   actors   procread  another PROCESS: open/read/close /proc/PID/cmdline of this one (ps)
 *            fault     a thread first-touching pages of another VMA, mapped and untouched
 *            mmapsmall a thread doing mmap(64 KiB) + munmap
 *            none      no actor (teardown time alone)
 *
 * Each actor operation's start and end (CLOCK_MONOTONIC, ns) go to a buffer shared with the
 * parent (MAP_SHARED, so the procread child, forked before anything big is mapped, can fill
 * it); the actor sleeps GAP_NS between operations. The parent turns the records into
 * statistics: the baseline (operations that ended before the
 * teardown began), the operations that overlap the teardown (p50, p99, max of their
 * latency), and the longest interval without a completed operation around the teardown.
 * It also records /proc/loadavg and its own on-CPU time, so a run on a busy machine shows.
 *
 * Build: cc -O2 -Wall -Wextra -pthread -o munmap-probe munmap-probe.c (Linux x86_64).
 * Usage: munmap-probe SIZE_BYTES METHOD ACTOR REPS BASELINE_MS [thp]
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL
#define SMALL (64UL * 1024)
#define GAP_NS 10000ULL          /* between two actor operations */
#define TAIL_NS 50000000ULL      /* actor keeps running after the teardown returns */
#define MAX_OPS (1UL << 20)      /* records per repetition (24 MiB, populated up front) */
#define MAX_REPS 20

/* One operation: CLOCK_MONOTONIC start and end, and its latency less the time it spent
 * runnable but waiting for a CPU (a busy machine): when it switched out voluntarily
 * (getrusage(RUSAGE_THREAD): ru_nvcsw grew, it slept on something) all of it; otherwise only
 * its CPU time (it ran: worked or spun on a lock; the rest was preemption). */
struct rec { uint64_t start, end, held; };

/* Shared with the actor (thread or child process). */
struct ctl {
	volatile int go, stop, exited;
	volatile uint64_t n;         /* records written */
	volatile int exhausted;      /* fault actor ran out of fresh pages */
	struct rec r[];
};

static struct ctl *ctl;
static char *fault_area;
static size_t fault_pages;
static pid_t target_pid;

static uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

/* Record one operation; stop recording (not the actor) when the buffer is full. */
static void record(uint64_t s, uint64_t e, uint64_t held)
{
	uint64_t i = ctl->n;
	if (i < MAX_OPS) {
		ctl->r[i].start = s;
		ctl->r[i].end = e;
		ctl->r[i].held = held;
		ctl->n = i + 1;
	}
}

/* The thread's CPU time (ns) and voluntary context switches so far. */
struct usage { uint64_t cpu; long nvcsw; };
static struct usage usage_now(void)
{
	struct rusage ru;
	getrusage(RUSAGE_THREAD, &ru);
	struct usage u = {
		(uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ULL +
			(uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ULL,
		ru.ru_nvcsw,
	};
	return u;
}

/* Records an operation timed from s to e between usage snapshots a and b. */
static void record_op(uint64_t s, uint64_t e, struct usage a, struct usage b)
{
	uint64_t lat = e - s, cpu = b.cpu - a.cpu;
	record(s, e, b.nvcsw > a.nvcsw ? lat : cpu < lat ? cpu : lat);
}

/* The pause between two operations: a sleep (the actor's timer slack is set to 1 ns). A busy
 * wait would make the actor CPU-bound, and the scheduler would then hold it back in favour of
 * the tearing-down thread, which slept through the baseline. */
static void gap(void)
{
	struct timespec ts = { 0, GAP_NS };
	nanosleep(&ts, NULL);
}

/* One operation of each actor, timed. Returns 0 when the actor cannot go on. */
static int op_procread(void)
{
	char path[64], buf[4096];
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)target_pid);
	struct usage u = usage_now();
	uint64_t s = now_ns(CLOCK_MONOTONIC);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	ssize_t got = read(fd, buf, sizeof(buf));
	close(fd);
	uint64_t e = now_ns(CLOCK_MONOTONIC);
	record_op(s, e, u, usage_now());
	return got >= 0;
}

static size_t fault_next;
static int op_fault(void)
{
	if (fault_next >= fault_pages) {
		ctl->exhausted = 1;
		return 0;
	}
	struct usage u = usage_now();
	uint64_t s = now_ns(CLOCK_MONOTONIC);
	fault_area[fault_next++ * PAGE] = 1; /* first touch: an anonymous page fault */
	uint64_t e = now_ns(CLOCK_MONOTONIC);
	record_op(s, e, u, usage_now());
	return 1;
}

static int op_mmapsmall(void)
{
	struct usage u = usage_now();
	uint64_t s = now_ns(CLOCK_MONOTONIC);
	void *p = mmap(NULL, SMALL, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 0;
	munmap(p, SMALL);
	uint64_t e = now_ns(CLOCK_MONOTONIC);
	record_op(s, e, u, usage_now());
	return 1;
}

static int (*actor_op)(void);

/* The actor's loop: wait for go, then operate until stop. */
static void *actor(void *unused)
{
	(void)unused;
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	while (!ctl->go)
		usleep(100);
	while (!ctl->stop) {
		if (!actor_op())
			break;
		gap();
	}
	ctl->exited = 1;
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted array (0 when empty). */
static uint64_t pct(const uint64_t *v, size_t n, double p)
{
	if (n == 0)
		return 0;
	size_t k = (size_t)(p * (double)n + 0.999999);
	if (k < 1)
		k = 1;
	return v[(k > n ? n : k) - 1];
}

static void print_dist(const char *name, uint64_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	printf("\"%s\":{\"count\":%zu,\"p50\":%llu,\"p99\":%llu,\"max\":%llu}", name, n,
	       (unsigned long long)pct(v, n, 0.5), (unsigned long long)pct(v, n, 0.99),
	       (unsigned long long)(n ? v[n - 1] : 0));
}

static double loadavg1(void)
{
	double l = -1;
	FILE *f = fopen("/proc/loadavg", "r");
	if (f) {
		if (fscanf(f, "%lf", &l) != 1)
			l = -1;
		fclose(f);
	}
	return l;
}

static uint64_t rusage_cpu_ns(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ULL +
	       (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ULL;
}

int main(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr, "usage: %s SIZE_BYTES munmap|mapfixed|dontneed "
				"procread|fault|mmapsmall|none REPS BASELINE_MS [thp]\n", argv[0]);
		return 2;
	}
	size_t size = strtoull(argv[1], NULL, 10);
	const char *method = argv[2], *actor_name = argv[3];
	int reps = atoi(argv[4]);
	uint64_t baseline_ns = strtoull(argv[5], NULL, 10) * 1000000ULL;
	int thp = argc > 6 && strcmp(argv[6], "thp") == 0;
	int m = !strcmp(method, "munmap") ? 0 : !strcmp(method, "mapfixed") ? 1
		: !strcmp(method, "dontneed") ? 2 : -1;
	int a = !strcmp(actor_name, "procread") ? 0 : !strcmp(actor_name, "fault") ? 1
		: !strcmp(actor_name, "mmapsmall") ? 2 : !strcmp(actor_name, "none") ? 3 : -1;
	if (size == 0 || size % PAGE || m < 0 || a < 0 || reps < 1 || reps > MAX_REPS) {
		fprintf(stderr, "munmap-probe: bad arguments\n");
		return 2;
	}
	actor_op = a == 0 ? op_procread : a == 1 ? op_fault : op_mmapsmall;
	target_pid = getpid();
	/* Populated now: a page fault on the record buffer between two operations would take
	 * mmap_lock's slow path and stall the actor outside any timed operation. */
	ctl = mmap(NULL, sizeof(*ctl) + MAX_OPS * sizeof(struct rec), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (ctl == MAP_FAILED)
		die("mmap control");
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	printf("{\"probe\":\"munmap-probe\",\"sizeBytes\":%zu,\"pages\":%zu,\"method\":\"%s\","
	       "\"actor\":\"%s\",\"thp\":%s,\"baselineNs\":%llu,\"gapNs\":%llu,\"cpus\":%ld,"
	       "\"runs\":[", size, size / PAGE, method, actor_name, thp ? "true" : "false",
	       (unsigned long long)baseline_ns, GAP_NS, ncpu);
	for (int rep = 0; rep < reps; rep++) {
		memset((void *)ctl, 0, sizeof(*ctl));
		/* The procread child is forked before the big mapping exists: fork would
		 * otherwise copy its page tables and share its pages. */
		pid_t child = -1;
		pthread_t th;
		if (a == 0) {
			child = fork();
			if (child < 0)
				die("fork");
			if (child == 0) {
				actor(NULL);
				_exit(0);
			}
		}
		double load_before = loadavg1();
		uint64_t cpu0 = rusage_cpu_ns();
		if (a == 1) {
			/* The fault actor's VMA: mapped now, never touched before the baseline.
			 * MADV_DONTFORK (no effect here) keeps it a VMA of its own. */
			fault_pages = size / 4 / PAGE;
			if (fault_pages < 16384)
				fault_pages = 16384;
			fault_next = 0;
			fault_area = mmap(NULL, fault_pages * PAGE, PROT_READ | PROT_WRITE,
					  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
			if (fault_area == MAP_FAILED)
				die("mmap fault area");
			madvise(fault_area, fault_pages * PAGE, MADV_NOHUGEPAGE);
			madvise(fault_area, fault_pages * PAGE, MADV_DONTFORK);
		}
		/* The actor thread is created before the big mapping: its stack (MAP_STACK, so
		 * VM_NOHUGEPAGE) placed just below an MADV_NOHUGEPAGE mapping would merge with
		 * it, and the teardown would then split the very VMA the actor runs on. */
		if (a == 1 || a == 2)
			if (pthread_create(&th, NULL, actor, NULL))
				die("pthread_create");
		char *big = mmap(NULL, size, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (big == MAP_FAILED)
			die("mmap");
		if (madvise(big, size, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE))
			die("madvise");
		uint64_t pc0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
		uint64_t p0 = now_ns(CLOCK_MONOTONIC);
		for (size_t off = 0; off < size; off += PAGE)
			big[off] = 1;
		uint64_t populate_ns = now_ns(CLOCK_MONOTONIC) - p0;
		uint64_t populate_cpu = now_ns(CLOCK_THREAD_CPUTIME_ID) - pc0;

		/* Baseline, teardown, tail. */
		ctl->go = a != 3;
		/* The tearing-down thread spins through the baseline: had it slept, the scheduler
		 * would owe it CPU time at the teardown and hold the actor back to pay it. */
		uint64_t b0 = now_ns(CLOCK_MONOTONIC);
		while (now_ns(CLOCK_MONOTONIC) - b0 < baseline_ns)
			;
		uint64_t tc0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
		uint64_t t0 = now_ns(CLOCK_MONOTONIC);
		int rc;
		if (m == 0)
			rc = munmap(big, size);
		else if (m == 1)
			rc = mmap(big, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED |
				  MAP_NORESERVE, -1, 0) == MAP_FAILED ? -1 : 0;
		else
			rc = madvise(big, size, MADV_DONTNEED);
		uint64_t t1 = now_ns(CLOCK_MONOTONIC);
		uint64_t teardown_cpu = now_ns(CLOCK_THREAD_CPUTIME_ID) - tc0;
		if (rc)
			die(method);
		while (now_ns(CLOCK_MONOTONIC) - t1 < TAIL_NS)
			usleep(1000);
		ctl->stop = 1;
		if (a == 0)
			waitpid(child, NULL, 0);
		if (a == 1 || a == 2)
			pthread_join(th, NULL);
		if (m != 0)
			munmap(big, size);
		if (a == 1)
			munmap(fault_area, fault_pages * PAGE);
		uint64_t cpu_ns = rusage_cpu_ns() - cpu0;
		double load_after = loadavg1();

		/* Statistics of the records. Operations are sequential, so their ends are in
		 * order; "no progress" is the longest gap between two completions from the last
		 * one before the teardown to the first one after it. */
		size_t n = ctl->n, nb = 0, nt = 0;
		uint64_t *base = malloc((n + 1) * sizeof(uint64_t));
		uint64_t *over = malloc((n + 1) * sizeof(uint64_t));
		uint64_t *held = malloc((n + 1) * sizeof(uint64_t));
		if (!base || !over || !held)
			die("malloc");
		uint64_t stall = 0, prev_end = t0, stall_from = t0, mid = 0;
		/* the middle 80% of the teardown: an operation that starts and ends in it shows
		 * the actor making progress while the teardown was under way */
		uint64_t m0 = t0 + (t1 - t0) / 10, m1 = t1 - (t1 - t0) / 10;
		int have_prev = 0;
		for (size_t i = 0; i < n; i++) {
			struct rec r = ctl->r[i];
			uint64_t lat = r.end - r.start;
			if (r.end < t0) {
				base[nb++] = lat;
				prev_end = r.end;
				have_prev = 1;
				continue;
			}
			if (r.start >= m0 && r.end <= m1)
				mid++;
			if (r.start < t1) {
				held[nt] = r.held;
				over[nt++] = lat;
			}
			uint64_t from = have_prev ? prev_end : t0;
			if (r.end - from > stall) {
				stall = r.end - from;
				stall_from = from;
			}
			prev_end = r.end;
			have_prev = 1;
			if (r.end > t1)
				break;
		}
		printf("%s{\"populateNs\":%llu,\"populateCpuNs\":%llu,\"teardownNs\":%llu,"
		       "\"teardownCpuNs\":%llu,\"cpuNs\":%llu,\"loadavg\":[%.2f,%.2f],\"ops\":%zu,"
		       "\"exhausted\":%s,",
		       rep ? "," : "", (unsigned long long)populate_ns,
		       (unsigned long long)populate_cpu,
		       (unsigned long long)(t1 - t0), (unsigned long long)teardown_cpu,
		       (unsigned long long)cpu_ns, load_before, load_after, n,
		       ctl->exhausted ? "true" : "false");
		print_dist("baseline", base, nb);
		putchar(',');
		print_dist("during", over, nt);
		putchar(',');
		/* the same operations less their time waiting for a CPU */
		print_dist("duringLessCpuWait", held, nt);
		printf(",\"midOps\":%llu,\"stallNs\":%llu,\"stallFromNs\":%lld}",
		       (unsigned long long)mid, (unsigned long long)stall,
		       (long long)(stall_from - t0));
		free(base);
		free(over);
		free(held);
	}
	printf("]}\n");
	return 0;
}
