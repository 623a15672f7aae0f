/*
 * The floor of any seccomp sensor: run a command under a minimal allow-all filter.
 *
 *   floor CMD [ARGS...]
 *
 * Sets PR_SET_NO_NEW_PRIVS, installs a four-instruction filter (native architecture: allow;
 * anything else: kill the process) and executes CMD. Every syscall of CMD and its children
 * then takes the kernel's seccomp entry path, the part of the cost a sensor cannot avoid.
 * Constant-allow filters are served from the kernel's seccomp action cache (Linux 5.11+), as
 * are the syscalls vigil's filter allows without looking at arguments.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: floor CMD [ARGS...]\n");
        return 2;
    }
    struct sock_filter prog[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog fprog = {.len = sizeof prog / sizeof prog[0], .filter = prog};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
        fprintf(stderr, "floor: PR_SET_NO_NEW_PRIVS: %s\n", strerror(errno));
        return 125;
    }
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) < 0) {
        fprintf(stderr, "floor: seccomp: %s\n", strerror(errno));
        return 125;
    }
    execvp(argv[1], argv + 1);
    fprintf(stderr, "floor: %s: %s\n", argv[1], strerror(errno));
    return errno == ENOENT ? 127 : 126;
}
