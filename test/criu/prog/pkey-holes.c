/*
 * test/criu/prog/pkey-holes.c DIR [deny] — for check-protection-keys.sh.
 *
 * Owns memory protection keys with holes below them: it allocates keys 1-4
 * (pkey_alloc gives the lowest free key), frees 1 and 3 and keeps 2 (all
 * access) and 4 (PKEY_DISABLE_WRITE, so its PKRU has key 4's write-disable
 * bit; with "deny" PKEY_DISABLE_ACCESS, and the program lifts it with WRPKRU
 * only while it reads page B).  Page A (key 2) and page B (key 4) hold a
 * pattern.  On each SIGUSR1 it writes to DIR/reply.<pid>
 *     "A=<key of A> B=<key of B> sum=<sum of A and B> pkru=<PKRU>
 *      alloc=<pkey_alloc()> key3=<pkey_mprotect(A, 3)> key2=<pkey_mprotect(A, 2)>"
 * (keys from /proc/self/smaps; the key pkey_alloc returns is freed again;
 * key3 is 0 or the errno name): a restore that gives the keys back answers
 * as before the dump (alloc=1: the holes were freed again, key3=EINVAL).
 * x86_64 with PKU only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "reply.h"

static volatile sig_atomic_t asked;
static void on_usr1(int sig)
{
	(void)sig;
	asked = 1;
}

static long pkey_alloc_(unsigned int rights) { return syscall(SYS_pkey_alloc, 0, rights); }
static long pkey_free_(int k) { return syscall(SYS_pkey_free, k); }
static long pkey_mprotect_(void *a, size_t l, int prot, int k) { return syscall(SYS_pkey_mprotect, a, l, prot, k); }

static unsigned int rdpkru(void)
{
	unsigned int eax, edx, ecx = 0;

	asm volatile(".byte 0x0f,0x01,0xee\n\t" : "=a"(eax), "=d"(edx) : "c"(ecx));
	return eax;
}
static void wrpkru(unsigned int pkru)
{
	asm volatile(".byte 0x0f,0x01,0xef\n\t" : : "a"(pkru), "c"(0), "d"(0) : "memory");
}

/* the ProtectionKey of the VMA that starts at addr, or -1 */
static int smaps_key(void *addr)
{
	char line[512], want[32];
	int key = -1, in = 0;
	FILE *f = fopen("/proc/self/smaps", "r");

	if (!f)
		return -1;
	snprintf(want, sizeof(want), "%lx-", (unsigned long)addr);
	while (fgets(line, sizeof(line), f)) {
		if (strchr(line, '-') && strchr(line, ' ') && strchr(line, '-') < strchr(line, ' '))
			in = !strncmp(line, want, strlen(want));
		else if (in && sscanf(line, "ProtectionKey: %d", &key) == 1)
			break;
	}
	fclose(f);
	return key;
}

int main(int argc, char **argv)
{
	long pg = sysconf(_SC_PAGESIZE), k[5], s;
	char dir[PATH_MAX], self[32], key3[16];
	unsigned char *a, *b;
	unsigned long sum;
	unsigned int pkru;
	int i, deny;

	if (argc < 2 || argc > 3 || strlen(argv[1]) >= sizeof(dir) || (argc == 3 && strcmp(argv[2], "deny")))
		return 2;
	strcpy(dir, argv[1]);
	deny = argc == 3;
	for (i = 1; i <= 4; i++) {
		/* PKEY_DISABLE_ACCESS 1, PKEY_DISABLE_WRITE 2 */
		k[i] = pkey_alloc_(i == 4 ? (deny ? 0x1 : 0x2) : 0);
		if (k[i] != i) {
			fprintf(stderr, "pkey_alloc gave %ld, wanted %d\n", k[i], i);
			return 1;
		}
	}
	pkey_free_(1);
	pkey_free_(3);
	a = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	b = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (a == MAP_FAILED || b == MAP_FAILED)
		return 1;
	for (i = 0; i < pg; i++) {
		a[i] = i * 7;
		b[i] = i * 13;
	}
	if (pkey_mprotect_(a, pg, PROT_READ | PROT_WRITE, 2) || pkey_mprotect_(b, pg, PROT_READ | PROT_WRITE, 4)) {
		perror("pkey_mprotect");
		return 1;
	}
	signal(SIGUSR1, on_usr1);
	write_reply(dir, self, "ready\n");
	for (;;) {
		while (!asked)
			usleep(20 * 1000);
		asked = 0;
		sum = 0;
		pkru = rdpkru();
		if (deny)
			wrpkru(pkru & ~(3u << 8)); /* key 4: bits 8 (AD) and 9 (WD) */
		for (i = 0; i < pg; i++)
			sum += a[i] + b[i];
		if (deny)
			wrpkru(pkru);
		s = pkey_alloc_(0);
		if (s >= 0)
			pkey_free_(s);
		strcpy(key3, pkey_mprotect_(a, pg, PROT_READ | PROT_WRITE, 3) ? strerrorname_np(errno) : "0");
		write_reply(dir, self, "A=%d B=%d sum=%lu pkru=%#x alloc=%ld key3=%s key2=%ld\n", smaps_key(a),
			    smaps_key(b), sum, rdpkru(), s, key3, pkey_mprotect_(a, pg, PROT_READ | PROT_WRITE, 2));
	}
}
