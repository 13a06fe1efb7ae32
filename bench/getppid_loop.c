/* Workload for `cargo xtask bench`: M getppid() calls, a syscall the tracer
 * does not report, to measure the system-wide cost of its probes.
 *
 * Usage: getppid_loop M
 * Prints one line: "elapsed_ns=<loop wall time>". */
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: getppid_loop M\n");
        return 2;
    }
    char *end;
    long m = strtol(argv[1], &end, 10);
    if (*end != '\0' || m <= 0) {
        fprintf(stderr, "getppid_loop: bad iteration count '%s'\n", argv[1]);
        return 2;
    }
    long sum = 0;
    long long start = now_ns();
    for (long i = 0; i < m; i++)
        sum += syscall(SYS_getppid);
    long long elapsed = now_ns() - start;
    if (sum == 0) /* keeps the calls observable; getppid() is never 0 here */
        fprintf(stderr, "getppid_loop: unexpected parent pid 0\n");
    printf("elapsed_ns=%lld\n", elapsed);
    return 0;
}
