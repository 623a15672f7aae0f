// A library an attacker preloads (LD_PRELOAD) or drops: its constructor leaves a marker.
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
__attribute__((constructor)) static void pwn(void) {
    const char *m = getenv("VIGIL_TEST_MARKER");
    if (!m) return;
    int fd = open(m, O_WRONLY | O_CREAT, 0644);
    if (fd >= 0) { write(fd, "preloaded\n", 10); close(fd); }
}
