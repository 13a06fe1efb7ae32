/* Workload for `cargo xtask bench`: N rounds of the socket lifecycle
 * socket(AF_INET6, SOCK_STREAM) + setsockopt(SO_REUSEADDR) + bind([::]:0)
 * + listen + close, i.e. 5 traced syscalls per iteration.
 *
 * Usage: socket_loop N
 * Prints "start" (flushed) just before the loop, so that a reader of its
 * output can tell when the loop begins, then, after the loop, one line
 * "elapsed_ns=<loop wall time> cpu_us=<own user+system CPU so far>"
 * where elapsed_ns covers the loop only (clock_gettime(CLOCK_MONOTONIC)). */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *what, long i) {
    fprintf(stderr, "socket_loop: %s failed at iteration %ld: %s\n", what, i, strerror(errno));
    exit(1);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: socket_loop N\n");
        return 2;
    }
    char *end;
    long n = strtol(argv[1], &end, 10);
    if (*end != '\0' || n <= 0) {
        fprintf(stderr, "socket_loop: bad iteration count '%s'\n", argv[1]);
        return 2;
    }
    struct sockaddr_in6 addr;
    memset(&addr, 0, sizeof addr);
    addr.sin6_family = AF_INET6;
    addr.sin6_addr = in6addr_any;
    addr.sin6_port = 0;
    int one = 1;

    printf("start\n");
    fflush(stdout);
    long long start = now_ns();
    for (long i = 0; i < n; i++) {
        int fd = socket(AF_INET6, SOCK_STREAM, 0);
        if (fd < 0) die("socket", i);
        if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) die("setsockopt", i);
        if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0) die("bind", i);
        if (listen(fd, 16) != 0) die("listen", i);
        if (close(fd) != 0) die("close", i);
    }
    long long elapsed = now_ns() - start;

    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    long long cpu_us = (long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000LL
                     + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
    printf("elapsed_ns=%lld cpu_us=%lld\n", elapsed, cpu_us);
    return 0;
}
