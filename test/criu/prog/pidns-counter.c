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

static volatile sig_atomic_t asked;

static void on_usr1(int sig)
{
	(void)sig;
	asked = 1;
}

int main(int argc, char **argv)
{
	char dir[PATH_MAX], self[32], tmp[PATH_MAX + 64], path[PATH_MAX + 64];
	unsigned long long token;
	unsigned long n = 0;
	struct timespec ts;
	ssize_t len;

	if (argc != 2 || strlen(argv[1]) >= sizeof(dir))
		return 2;
	strcpy(dir, argv[1]);
	clock_gettime(CLOCK_REALTIME, &ts);
	token = (unsigned long long)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	signal(SIGUSR1, on_usr1);

	for (;;) {
		FILE *f;

		while (!asked)
			usleep(20 * 1000);
		asked = 0;
		n++;
		len = readlink("/proc/self", self, sizeof(self) - 1);
		if (len < 0)
			strcpy(self, "unknown");
		else
			self[len] = '\0';
		snprintf(tmp, sizeof(tmp), "%s/.reply.%s", dir, self);
		snprintf(path, sizeof(path), "%s/reply.%s", dir, self);
		f = fopen(tmp, "w");
		if (!f)
			continue;
		fprintf(f, "%llu %lu %d %s\n", token, n, (int)getpid(), self);
		fclose(f);
		rename(tmp, path);
	}
}
