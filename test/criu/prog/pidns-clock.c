/*
 * test/criu/prog/pidns-clock.c DIR — for check-restore-pidns-external.sh.
 *
 * A tree of two tasks: this one (the root) and a child that only waits
 * (it dies with its parent: PR_SET_PDEATHSIG).  The root keeps a token (its
 * start time in ns) and a counter in memory, reads CLOCK_MONOTONIC every
 * 10 ms and counts the times it went backwards (never, if restores keep the
 * clock going).  On each SIGUSR1 it increments the counter and writes
 *     "<token> <counter> <getpid()> <getppid()> <pid in /proc> <child pid>
 *      <monotonic ns> <realtime ns> <backward steps>"
 * (one line) to DIR/reply.<pid in /proc>, via a temp file and rename.  The
 * pid in /proc is readlink("/proc/self"): a tree restored with
 * --restore-pidns sees the host's /proc, where that is the pid outside; the
 * pids before it are the ones inside its pid namespace.
 */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "reply.h"

static volatile sig_atomic_t asked;

static void on_usr1(int sig)
{
	(void)sig;
	asked = 1;
}

static unsigned long long now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	char dir[PATH_MAX], self[32];
	unsigned long long token, mono, last = 0;
	unsigned long n = 0, back = 0;
	pid_t parent = getpid(), child;

	if (argc != 2 || strlen(argv[1]) >= sizeof(dir))
		return 2;
	strcpy(dir, argv[1]);
	token = now_ns(CLOCK_REALTIME);

	child = fork();
	if (child < 0)
		return 1;
	if (child == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		if (getppid() != parent)
			_exit(0);
		for (;;)
			pause();
	}
	signal(SIGUSR1, on_usr1);

	for (;;) {
		mono = now_ns(CLOCK_MONOTONIC);
		if (mono < last)
			back++;
		last = mono;
		if (!asked) {
			usleep(10 * 1000);
			continue;
		}
		asked = 0;
		n++;
		/* `self` is filled by write_reply before the line is formatted */
		write_reply(dir, self, "%llu %lu %d %d %s %d %llu %llu %lu\n", token, n, (int)getpid(), (int)getppid(), self, (int)child, mono,
			now_ns(CLOCK_REALTIME), back);
	}
}
