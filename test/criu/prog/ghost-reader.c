/*
 * test/criu/prog/ghost-reader.c — for test/criu/check-ghost-file.sh.
 *
 * Usage: ghost-reader FILE
 * Opens FILE read-only (the fd stays open) and maps all of it MAP_PRIVATE
 * PROT_READ.  Every 100 ms it writes one line to stdout:
 *   "tick N sum S fd HEAD16 map FIRSTLINE"
 * N: in-memory counter (1, 2, ...); S: sum of every byte of the mapping;
 * HEAD16: the first 16 bytes read through the fd with pread(); FIRSTLINE:
 * the mapping's first line.  So the line shows what the restored task reads
 * through both its fd and its mapping.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct timespec ts = { 0, 100 * 1000 * 1000 };
	unsigned long counter = 0;
	struct stat st;
	char head[17];
	char *map, *nl;
	int fd;

	if (argc != 2)
		return 2;
	fd = open(argv[1], O_RDONLY);
	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size == 0) {
		perror(argv[1]);
		return 1;
	}
	map = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	nl = memchr(map, '\n', st.st_size);

	for (;;) {
		unsigned long long sum = 0;
		ssize_t n;
		off_t i;

		for (i = 0; i < st.st_size; i++)
			sum += (unsigned char)map[i];
		n = pread(fd, head, 16, 0);
		head[n > 0 ? n : 0] = 0;
		for (i = 0; i < n; i++)
			if (head[i] == '\n' || head[i] == ' ')
				head[i] = '_';
		counter++;
		printf("tick %lu sum %llu fd %s map %.*s\n", counter, sum, head,
		       (int)(nl ? nl - map : st.st_size), map);
		fflush(stdout);
		nanosleep(&ts, NULL);
	}
}
