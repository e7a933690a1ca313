/*
 * test/criu/prog/fh-map.c — for test/criu/check-file-handles.sh.
 *
 * Usage: fh-map FILE shared|private REPLYFILE
 *   shared:  FILE opened O_RDWR, mmap MAP_SHARED PROT_READ|PROT_WRITE
 *   private: FILE opened O_RDONLY, mmap MAP_PRIVATE PROT_READ
 * The fd is closed after mmap(), so only the mapping refers to the file.
 * On each SIGUSR1 the in-memory counter goes up; in shared mode
 * "count N" is written at the start of the mapping (msync), and the line
 * "N <first 16 bytes of the mapping>" goes to REPLYFILE (rewritten).
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static volatile sig_atomic_t asked;
static void on_usr1(int sig) { (void)sig; asked = 1; }

int main(int argc, char **argv)
{
	int shared, fd, counter = 0;
	char *map, head[17];
	sigset_t block, old;
	FILE *f;

	if (argc != 4)
		return 2;
	shared = !strcmp(argv[2], "shared");
	fd = open(argv[1], shared ? O_RDWR : O_RDONLY);
	if (fd < 0) {
		perror("open");
		return 1;
	}
	map = mmap(NULL, 4096, shared ? PROT_READ | PROT_WRITE : PROT_READ, shared ? MAP_SHARED : MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	close(fd);

	signal(SIGUSR1, on_usr1);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &old);
	for (;;) {
		while (!asked)
			sigsuspend(&old);
		asked = 0;
		counter++;
		if (shared) {
			char line[32];
			int n = snprintf(line, sizeof(line), "count %d", counter);
			memcpy(map, line, n);
			msync(map, 4096, MS_SYNC);
		}
		memcpy(head, map, 16);
		head[16] = '\0';
		for (int i = 0; i < 16; i++)
			if (head[i] == '\n' || head[i] == '\0')
				head[i] = ' ';
		f = fopen(argv[3], "w");
		if (!f)
			return 1;
		fprintf(f, "%d %s\n", counter, head);
		fclose(f);
	}
}
