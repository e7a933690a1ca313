/*
 * test/criu/prog/tmpfs-tree.c — the dumped task of check-tmpfs-inline.sh.
 *
 * Started (statically linked) as pid 1 of a fresh pid + mount namespace by a
 * setup script that has mounted the check's tmpfs mounts under ROOT (itself
 * a mount point).  It makes ROOT its root (pivot_root(".", ".") then detaches
 * the old root, so the namespace holds only ROOT's mounts: what CRIU dumps),
 * starts its own session (CRIU refuses a session leader outside the pid
 * namespace), closes every fd (none may point outside ROOT), creates /ready
 * and sleeps until killed.  The check reads the tree through /proc/PID/root.
 *
 * Usage: tmpfs-tree ROOT
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: tmpfs-tree ROOT\n");
		return 2;
	}
	setsid();
	if (chdir(argv[1]) || syscall(SYS_pivot_root, ".", ".") || umount2(".", MNT_DETACH) || chdir("/")) {
		perror("tmpfs-tree: pivot_root");
		return 1;
	}
	for (fd = 0; fd < 1024; fd++)
		close(fd);
	fd = open("/ready", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return 1;
	close(fd);
	for (;;)
		pause();
}
