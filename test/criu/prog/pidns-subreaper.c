/*
 * test/criu/prog/pidns-subreaper.c CMD [ARGS...] — for check-restore-pidns.sh.
 *
 * Becomes a child subreaper, runs CMD (a detached criu restore) and reaps
 * every child and orphan that comes to it, printing "reaped PID STATUS"
 * for each (STATUS: exit code, or 128 + signal).  With criu restore
 * --restore-detached --restore-pidns the pid namespace holder is orphaned
 * when criu exits and so ends up here: the line for it shows the exit
 * status the holder passes on from the restored root task.  Exits when it
 * has no children left.
 */
#include <errno.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	pid_t pid;
	int st;

	if (argc < 2)
		return 2;
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) {
		perror("PR_SET_CHILD_SUBREAPER");
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		execvp(argv[1], argv + 1);
		_exit(127);
	}
	while ((pid = wait(&st)) > 0 || errno == EINTR)
		if (pid > 0)
			printf("reaped %d %d\n", (int)pid, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	return 0;
}
