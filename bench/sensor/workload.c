/*
 * Vigil sensor benchmark workload: one kind of system call in a timed loop.
 *
 *   workload getppid  N             getppid()
 *   workload open_ro  N FILE        open(FILE, O_RDONLY) + close
 *   workload connect  N PORT        socket + connect(127.0.0.1:PORT) + close
 *   workload forkexec N             fork + execve(/bin/true) + waitpid
 *   workload listen   PORTFILE      accept loop on 127.0.0.1 (the peer of `connect`; not timed)
 *
 * Each timed mode first runs a short warm-up (untimed), then prints one line:
 *   <mode> <N> <total ns> <ns per op>
 * The clock (CLOCK_MONOTONIC) is read around the loop only, so process start-up and the
 * sensor's set-up are not in the figure; `spawntime` measures those separately.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void die(const char *what) {
    fprintf(stderr, "workload: %s: %s\n", what, strerror(errno));
    exit(2);
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void op_getppid(void) {
    /* The raw system call: no library may cache it. */
    if (syscall(SYS_getppid) <= 0)
        die("getppid");
}

static const char *ro_path;
static void op_open_ro(void) {
    int fd = open(ro_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        die("open");
    close(fd);
}

static struct sockaddr_in peer;
static void op_connect(void) {
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        die("socket");
    /* Close with a reset: no TIME_WAIT, so thousands of runs do not exhaust local ports. */
    struct linger l = {.l_onoff = 1, .l_linger = 0};
    if (setsockopt(s, SOL_SOCKET, SO_LINGER, &l, sizeof l) < 0)
        die("setsockopt");
    if (connect(s, (struct sockaddr *)&peer, sizeof peer) < 0)
        die("connect");
    close(s);
}

static void op_forkexec(void) {
    pid_t p = fork();
    if (p < 0)
        die("fork");
    if (p == 0) {
        char *argv[] = {"/bin/true", NULL};
        execve("/bin/true", argv, environ);
        _exit(127);
    }
    int st;
    if (waitpid(p, &st, 0) != p)
        die("waitpid");
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "workload: /bin/true failed (status %#x)\n", st);
        exit(2);
    }
}

static _Noreturn void listen_loop(const char *portfile) {
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        die("socket");
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(s, (struct sockaddr *)&a, sizeof a) < 0)
        die("bind");
    if (listen(s, SOMAXCONN) < 0)
        die("listen");
    socklen_t len = sizeof a;
    if (getsockname(s, (struct sockaddr *)&a, &len) < 0)
        die("getsockname");
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", portfile);
    FILE *f = fopen(tmp, "w");
    if (!f)
        die("portfile");
    fprintf(f, "%u\n", ntohs(a.sin_port));
    fclose(f);
    if (rename(tmp, portfile) < 0)
        die("rename portfile");
    for (;;) {
        int c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
        if (c >= 0)
            close(c);
        else if (errno != EINTR && errno != ECONNABORTED)
            die("accept");
    }
}

static void usage(void) {
    fprintf(stderr, "usage: workload getppid N | open_ro N FILE | connect N PORT | "
                    "forkexec N | listen PORTFILE\n");
    exit(2);
}

int main(int argc, char **argv) {
    if (argc < 3)
        usage();
    const char *mode = argv[1];
    if (!strcmp(mode, "listen"))
        listen_loop(argv[2]);
    long n = strtol(argv[2], NULL, 10);
    if (n <= 0)
        usage();
    void (*op)(void);
    if (!strcmp(mode, "getppid")) {
        op = op_getppid;
    } else if (!strcmp(mode, "open_ro") && argc == 4) {
        ro_path = argv[3];
        op = op_open_ro;
    } else if (!strcmp(mode, "connect") && argc == 4) {
        peer.sin_family = AF_INET;
        peer.sin_port = htons((uint16_t)atoi(argv[3]));
        peer.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        op = op_connect;
    } else if (!strcmp(mode, "forkexec")) {
        op = op_forkexec;
    } else {
        usage();
    }
    long warm = n / 10 < 100 ? n / 10 : 100;
    for (long i = 0; i < warm; i++)
        op();
    uint64_t t0 = now_ns();
    for (long i = 0; i < n; i++)
        op();
    uint64_t t1 = now_ns();
    printf("%s %ld %llu %.1f\n", mode, n, (unsigned long long)(t1 - t0),
           (double)(t1 - t0) / (double)n);
    return 0;
}
