/*
 * The first-touch floor of the default run (apps/bench/bench/first-touch.ts builds and runs
 * it). Two modes:
 *
 *   first-touch MIB          map MIB MiB of anonymous memory, ask for huge pages (as the
 *                            bench does through glibc's hugetlb tunable), write one byte per
 *                            4 KiB page and report this process's CPU time and faults: the
 *                            least any program pays to touch that much fresh memory
 *   first-touch -- CMD ARGS  run CMD, wait for it, and report the CPU time and faults of it
 *                            and every descendant it waited for (RUSAGE_CHILDREN)
 *
 * Output: one JSON line {"wall":s,"user":s,"sys":s,"faults":n,"maxrssMiB":n}.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double secs(struct timeval t) { return t.tv_sec + t.tv_usec / 1e6; }

int main(int argc, char **argv) {
  struct timespec t0, t1;
  struct rusage u;
  int who = RUSAGE_SELF;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  if (argc > 2 && argv[1][0] == '-' && argv[1][1] == '-' && argv[1][2] == 0) {
    pid_t pid = fork();
    if (pid < 0) return 1;
    if (pid == 0) {
      execvp(argv[2], argv + 2);
      perror(argv[2]);
      _exit(127);
    }
    int status;
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return 1;
    who = RUSAGE_CHILDREN;
  } else if (argc == 2) {
    size_t n = strtoull(argv[1], 0, 10) << 20;
    char *p = mmap(0, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return 1;
    madvise(p, n, MADV_HUGEPAGE);
    for (size_t i = 0; i < n; i += 4096) p[i] = 1;
  } else {
    fprintf(stderr, "usage: first-touch MIB | first-touch -- CMD [ARGS]\n");
    return 2;
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  getrusage(who, &u);
  printf("{\"wall\":%.3f,\"user\":%.3f,\"sys\":%.3f,\"faults\":%ld,\"maxrssMiB\":%.1f}\n",
         (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9, secs(u.ru_utime),
         secs(u.ru_stime), u.ru_minflt + u.ru_majflt, u.ru_maxrss / 1024.0);
  return 0;
}
