/*
 * A minimal seccomp user-notification supervisor: the floor of a *notifying* sensor, and a
 * model of the work vigil does for a connect, for the cost breakdown in bench/sensor.
 *
 *   notifsup [--sync] [--onbehalf] [--pre US] [--post US] CMD [ARGS...]
 *
 * Notifies the same calls vigil notifies for the benchmark's workloads and their policy —
 * connect, execve/execveat, mmap/mprotect with PROT_EXEC — and allows everything else in the
 * kernel. Process creation is not notified: with a policy that allows it (`fork: true`), vigil
 * decides fork/vfork/clone in the kernel too. clone3 fails with ENOSYS, as under vigil.
 * The supervisor (this process) answers each notification at once:
 *   default      SECCOMP_USER_NOTIF_FLAG_CONTINUE: the kernel runs the call (no decision work);
 *   --onbehalf   connect is performed here, as vigil does: read the address from the caller's
 *                memory, duplicate its socket (pidfd_getfd), connect non-blocking, wait for
 *                completion, return the result. Everything else continues.
 *   --sync       SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (Linux 6.6+): the kernel wakes the
 *                supervisor and the caller synchronously, on the waker's CPU.
 *   --pre US, --post US
 *                busy-wait US microseconds before (after) each answer: a stand-in for a
 *                supervisor's work before the answer (after it), to see what each microsecond
 *                of it costs the caller.
 * No policy, no events, no bookkeeping: what is left between this and vigil is vigil's own work.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <time.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

static void die(const char *what) {
    fprintf(stderr, "notifsup: %s: %s\n", what, strerror(errno));
    exit(125);
}

/* The filter, built with forward jumps only: [arch check] [per-syscall tests] allow. */
#define MAXI 64
static struct sock_filter prog[MAXI];
static unsigned len;

static void emit(struct sock_filter i) {
    if (len == MAXI) {
        fprintf(stderr, "notifsup: filter too long\n");
        exit(125);
    }
    prog[len++] = i;
}

/* nr == n: return `ret` (no argument test). */
static void rule_always(unsigned n, uint32_t ret) {
    emit((struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, n, 0, 1));
    emit((struct sock_filter)BPF_STMT(BPF_RET | BPF_K, ret));
}

/* nr == n: notify when (low half of argument `arg` & bits) is non-zero, else allow. Only the
 * matching path loads the argument, and it returns. */
static void rule_bits(unsigned n, unsigned arg, uint32_t bits) {
    emit((struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, n, 0, 4));
    emit((struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                                      offsetof(struct seccomp_data, args) + 8 * arg));
    emit((struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, bits, 0, 1));
    emit((struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF));
    emit((struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
}

static void build(void) {
    emit((struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)));
    emit((struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0));
    emit((struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
    emit((struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)));
    rule_always(SYS_connect, SECCOMP_RET_USER_NOTIF);
    rule_always(SYS_execve, SECCOMP_RET_USER_NOTIF);
    rule_always(SYS_execveat, SECCOMP_RET_USER_NOTIF);
    rule_always(SYS_clone3, SECCOMP_RET_ERRNO | ENOSYS);
    rule_bits(SYS_mmap, 2, PROT_EXEC);
    rule_bits(SYS_mprotect, 2, PROT_EXEC);
    emit((struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
}

static void send_fd(int sock, int fd) {
    char dummy = 0;
    struct iovec iov = {.iov_base = &dummy, .iov_len = 1};
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } u;
    memset(&u, 0, sizeof u);
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                       .msg_controllen = sizeof u.buf};
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
    if (sendmsg(sock, &m, 0) != 1)
        die("sendmsg");
}

static int recv_fd(int sock) {
    char dummy;
    struct iovec iov = {.iov_base = &dummy, .iov_len = 1};
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } u;
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                       .msg_controllen = sizeof u.buf};
    if (recvmsg(sock, &m, 0) != 1)
        return -1;
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    if (!c || c->cmsg_type != SCM_RIGHTS)
        return -1;
    int fd;
    memcpy(&fd, CMSG_DATA(c), sizeof fd);
    return fd;
}

/* connect(args[0], args[1], args[2]) for the caller; returns the value or -errno. */
static int64_t connect_for(int pid, int pidfd, const struct seccomp_data *d) {
    char addr[128];
    size_t alen = d->args[2];
    if (alen > sizeof addr)
        return -EINVAL;
    struct iovec local = {.iov_base = addr, .iov_len = alen};
    struct iovec remote = {.iov_base = (void *)(uintptr_t)d->args[1], .iov_len = alen};
    if (process_vm_readv(pid, &local, 1, &remote, 1, 0) != (ssize_t)alen)
        return -EFAULT;
    int s = (int)syscall(SYS_pidfd_getfd, pidfd, (int)d->args[0], 0);
    if (s < 0)
        return -errno;
    int fl = fcntl(s, F_GETFL);
    fcntl(s, F_SETFL, fl | O_NONBLOCK);
    int64_t ret = 0;
    if (connect(s, (struct sockaddr *)addr, (socklen_t)alen) < 0) {
        ret = -errno;
        if (errno == EINPROGRESS && !(fl & O_NONBLOCK)) {
            struct pollfd p = {.fd = s, .events = POLLOUT};
            int err = 0;
            socklen_t el = sizeof err;
            poll(&p, 1, -1);
            getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &el);
            ret = -err;
        }
    }
    fcntl(s, F_SETFL, fl);
    close(s);
    return ret;
}

/* Busy-waits `us` microseconds. */
static void spin(long us) {
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    do {
        clock_gettime(CLOCK_MONOTONIC, &b);
    } while ((b.tv_sec - a.tv_sec) * 1000000L + (b.tv_nsec - a.tv_nsec) / 1000 < us);
}

int main(int argc, char **argv) {
    int sync_wake = 0, onbehalf = 0, i = 1;
    long pre_us = 0, post_us = 0;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "--sync"))
            sync_wake = 1;
        else if ((!strcmp(argv[i], "--pre") || !strcmp(argv[i], "--post")) && i + 1 < argc) {
            char *end;
            long us = strtol(argv[i + 1], &end, 10);
            if (*end || us < 0 || us > 1000000) {
                fprintf(stderr, "notifsup: %s: not a number of microseconds: %s\n", argv[i], argv[i + 1]);
                return 2;
            }
            if (argv[i][2] == 'p' && argv[i][3] == 'r')
                pre_us = us;
            else
                post_us = us;
            i++;
        }
        else if (!strcmp(argv[i], "--onbehalf"))
            onbehalf = 1;
        else
            break;
    }
    if (i >= argc) {
        fprintf(stderr, "usage: notifsup [--sync] [--onbehalf] [--pre US] [--post US] CMD [ARGS...]\n");
        return 2;
    }
    build();
    int sp[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
        die("socketpair");
    pid_t child = fork();
    if (child < 0)
        die("fork");
    if (child == 0) {
        close(sp[0]);
        struct sock_fprog fp = {.len = (unsigned short)len, .filter = prog};
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
            die("PR_SET_NO_NEW_PRIVS");
        int l = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                             SECCOMP_FILTER_FLAG_NEW_LISTENER, &fp);
        if (l < 0)
            die("seccomp");
        send_fd(sp[1], l);
        close(l);
        char go;
        if (read(sp[1], &go, 1) != 1)
            _exit(125);
        execvp(argv[i], argv + i);
        _exit(errno == ENOENT ? 127 : 126);
    }
    close(sp[1]);
    int lfd = recv_fd(sp[0]);
    if (lfd < 0)
        die("no listener from the child");
    if (sync_wake && ioctl(lfd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP) < 0)
        die("SECCOMP_IOCTL_NOTIF_SET_FLAGS");
    int pidfd = onbehalf ? (int)syscall(SYS_pidfd_open, child, 0) : -1;
    if (onbehalf && pidfd < 0)
        die("pidfd_open");
    if (write(sp[0], "g", 1) != 1)
        die("write");

    struct seccomp_notif req;
    struct seccomp_notif_resp resp;
    for (;;) {
        struct pollfd p = {.fd = lfd, .events = POLLIN};
        if (poll(&p, 1, -1) < 0) {
            if (errno == EINTR)
                continue;
            die("poll");
        }
        if (p.revents & POLLIN) {
            memset(&req, 0, sizeof req);
            if (ioctl(lfd, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0)
                continue; /* the caller went away */
            memset(&resp, 0, sizeof resp);
            resp.id = req.id;
            if (onbehalf && req.data.nr == SYS_connect && (pid_t)req.pid == child) {
                int64_t r = connect_for((int)req.pid, pidfd, &req.data);
                if (r < 0)
                    resp.error = (int32_t)r;
                else
                    resp.val = r;
            } else {
                resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
            }
            spin(pre_us);
            ioctl(lfd, SECCOMP_IOCTL_NOTIF_SEND, &resp);
            spin(post_us);
        } else if (p.revents & (POLLHUP | POLLERR)) {
            break;
        }
    }
    int st;
    if (waitpid(child, &st, 0) != child)
        die("waitpid");
    if (WIFSIGNALED(st))
        return 128 + WTERMSIG(st);
    return WEXITSTATUS(st);
}
