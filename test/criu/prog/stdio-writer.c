/*
 * test/criu/prog/stdio-writer.c — for check-inherit-stdio.sh.
 *
 * Writes "out N" to stdout and "err N" to stderr every 100 ms, N counting
 * up from 1.  The counter lives only in memory, so a restored copy that
 * continues from its dumped value proves the state survived; where the
 * lines land shows which files fds 1 and 2 refer to after restore.
 */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

int main(void)
{
	unsigned long n = 0;
	struct timespec ts = { 0, 100 * 1000 * 1000 };

	setvbuf(stdout, NULL, _IONBF, 0);
	setvbuf(stderr, NULL, _IONBF, 0);
	for (;;) {
		n++;
		printf("out %lu\n", n);
		fprintf(stderr, "err %lu\n", n);
		nanosleep(&ts, NULL);
	}
}
