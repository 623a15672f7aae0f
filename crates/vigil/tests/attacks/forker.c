// Built static (no watched call before main): run from a path containing "/evil", it forks 32
// children as fast as it can (so that a child is born while the supervisor looks for them);
// each waits 150 ms, then creates DIR/EVIL-CHILD-<pid> (a watched call) and exits, while the
// parent waits. When DIR's name holds "double", each child forks the one that waits and
// exits at once (a double fork: the grandchild is an orphan, the supervisor's, before the
// swap is found). Run from any other path, it exits. Usage: forker swap_child DIR
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
static void wait_and_mark(const char *dir) {
    usleep(150000);
    char path[4200];
    snprintf(path, sizeof path, "%s/EVIL-CHILD-%d", dir, getpid());
    int f = open(path, O_WRONLY | O_CREAT, 0644);
    if (f >= 0) { write(f, "unlisted program alive\n", 23); close(f); }
    _exit(0);
}
int main(int argc, char **argv) {
    char exe[4096] = {0};
    if (argc < 3 || readlink("/proc/self/exe", exe, sizeof exe - 1) < 0) return 1;
    if (strstr(exe, "/evil") == NULL) return 0;
    int twice = strstr(argv[2], "double") != NULL;
    for (int i = 0; i < 32; i++) {
        if (fork() == 0) {
            if (twice && fork() != 0) _exit(0);
            wait_and_mark(argv[2]);
        }
    }
    for (;;) pause();
}
