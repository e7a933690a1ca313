/*
 * ckpt-fhandle: where is the file behind a handle now?  `ckpt inspect` asks it for every file a
 * checkpoint references by handle (name_to_handle_at at dump time): the path may have been
 * renamed, the file replaced (ESTALE) or deleted.  Node has no open_by_handle_at, hence this.
 *
 *   ckpt-fhandle DIR TYPE HEX
 *
 * DIR is any directory on the file's filesystem (the kernel only needs the superblock: the
 * dump-time mount id names a mount of the service's own namespace, long gone).  TYPE and HEX
 * are the handle's type and bytes.  Prints one line:
 *   ok INO MTIME_NS SIZE MODE PATH  the file as it is now (MODE octal st_mode; PATH ends
 *                                   in " (deleted)" if unlinked)
 *   stale                         no such file any more: deleted and gone, or replaced
 *   error MESSAGE                 could not tell (exit 1)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: ckpt-fhandle DIR TYPE HEX\n");
		return 64;
	}
	size_t hexlen = strlen(argv[3]);
	if (hexlen == 0 || hexlen % 2 || hexlen / 2 > MAX_HANDLE_SZ) {
		printf("error bad handle\n");
		return 1;
	}
	struct file_handle *fh = calloc(1, sizeof(*fh) + hexlen / 2);
	if (!fh)
		return 1;
	fh->handle_bytes = hexlen / 2;
	fh->handle_type = atoi(argv[2]);
	for (size_t i = 0; i < hexlen / 2; i++) {
		int hi = hexval(argv[3][2 * i]), lo = hexval(argv[3][2 * i + 1]);
		if (hi < 0 || lo < 0) {
			printf("error bad handle\n");
			return 1;
		}
		fh->f_handle[i] = (unsigned char)(hi << 4 | lo);
	}
	int dir = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0) {
		printf("error %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	int fd = open_by_handle_at(dir, fh, O_PATH | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ESTALE || errno == ENOENT) {
			printf("stale\n");
			return 0;
		}
		printf("error open_by_handle_at: %s\n", strerror(errno));
		return 1;
	}
	char link[64], path[PATH_MAX];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, path, sizeof(path) - 1);
	struct stat st;
	if (n < 0 || fstat(fd, &st)) {
		printf("error %s\n", strerror(errno));
		return 1;
	}
	path[n] = '\0';
	/* the path last: it may hold spaces */
	printf("ok %llu %lld %lld %o %s\n", (unsigned long long)st.st_ino,
	       (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec, (long long)st.st_size, st.st_mode, path);
	return 0;
}
