// A program the attacker wants to run: it leaves a marker file (path in VIGIL_TEST_MARKER).
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
int main(void) {
    const char *m = getenv("VIGIL_TEST_MARKER");
    if (m) {
        int fd = open(m, O_WRONLY | O_CREAT, 0644);
        if (fd >= 0) { write(fd, "ran\n", 4); close(fd); }
    }
    return 0;
}
