/*
 * Wall time of whole command runs, for start-up cost (`vigil run -- /bin/true`).
 *
 *   spawntime N CMD [ARGS...]
 *
 * Runs CMD N times, one after another (posix_spawn, stdout and stderr to /dev/null, wait),
 * and prints the wall time of each run in nanoseconds, one per line. A non-zero exit status
 * of CMD is an error (exit 2), so a failing variant is never timed as a fast one.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: spawntime N CMD [ARGS...]\n");
        return 2;
    }
    long n = strtol(argv[1], NULL, 10);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    for (long i = 0; i < n; i++) {
        uint64_t t0 = now_ns();
        pid_t p;
        int e = posix_spawn(&p, argv[2], &fa, NULL, argv + 2, environ);
        if (e != 0) {
            fprintf(stderr, "spawntime: %s: %s\n", argv[2], strerror(e));
            return 2;
        }
        int st;
        if (waitpid(p, &st, 0) != p) {
            fprintf(stderr, "spawntime: waitpid: %s\n", strerror(errno));
            return 2;
        }
        uint64_t t1 = now_ns();
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "spawntime: %s exited with status %#x\n", argv[2], st);
            return 2;
        }
        printf("%llu\n", (unsigned long long)(t1 - t0));
    }
    return 0;
}
