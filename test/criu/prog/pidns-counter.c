/*
 * test/criu/prog/pidns-counter.c DIR — for check-restore-pidns.sh.
 *
 * Keeps a counter and a token (its start time in ns) in memory only.  On
 * each SIGUSR1 it increments the counter and writes
 *     "<token> <counter> <getpid()> <pid in /proc>"
 * to DIR/reply.<pid in /proc> (via a temp file and rename).  The last field
 * comes from readlink("/proc/self"): restored with --restore-pidns into a
 * pid namespace of its own, the task still sees the host's /proc, so it
 * names the pid outside the namespace, while getpid() gives the saved pid
 * inside.  A copy restored from an image answers with the dumped token and
 * counter + 1.
 */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "reply.h"

static volatile sig_atomic_t asked;

static void on_usr1(int sig)
{
	(void)sig;
	asked = 1;
}

int main(int argc, char **argv)
{
	char dir[PATH_MAX], self[32];
	unsigned long long token;
	unsigned long n = 0;
	struct timespec ts;

	if (argc != 2 || strlen(argv[1]) >= sizeof(dir))
		return 2;
	strcpy(dir, argv[1]);
	clock_gettime(CLOCK_REALTIME, &ts);
	token = (unsigned long long)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	signal(SIGUSR1, on_usr1);

	for (;;) {
		while (!asked)
			usleep(20 * 1000);
		asked = 0;
		n++;
		/* `self` is filled by write_reply before the line is formatted */
		write_reply(dir, self, "%llu %lu %d %s\n", token, n, (int)getpid(), self);
	}
}
