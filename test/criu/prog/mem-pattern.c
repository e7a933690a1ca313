/*
 * test/criu/prog/mem-pattern.c DIR MIB SEED — for check-map-pages.sh.
 *
 * Holds MIB MiB of private anonymous memory filled with a pseudo-random
 * pattern that depends on SEED, a generation number and the page's index.
 * Pages 2000-2039 of each 8 MiB are holes, never touched (they must read
 * as zeros).  Beside it: a 1 MiB area filled and then made
 * read-only, and a 16-page MAP_GROWSDOWN area, both with the pattern.
 * Writes DIR/ready.<pid> when filled.
 *
 * On SIGUSR1 it reads one command from DIR/cmd.<pid> and answers in
 * DIR/reply.<pid> (temp file + rename).  <pid> is readlink("/proc/self"):
 * the pid outside a --restore-pidns namespace, as in pidns-counter.c.
 *   verify    "ok GEN" if every page holds generation GEN, the holes are
 *             zero; else "bad AREA OFFSET what-it-holds".
 *   rewrite   writes every (non-hole) page with generation GEN+1, then
 *             verifies: "ok GEN+1" or "bad ...".
 *   madvise   on the first 1 MiB of the big area: MADV_DONTNEED, then says
 *             what the first page holds ("zero", "gen N" or "other"),
 *             then MADV_FREE's result ("0" or the errno name), rewrites the
 *             range with the current generation and verifies:
 *             "dontneed WHAT free RESULT ok GEN".
 *   maps      the number of lines of /proc/self/maps naming a pages-*.img:
 *             "maps N".
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_FREE
#define MADV_FREE 8
#endif

#define PG 4096UL
#define GD_PAGES 16
#define RO_PAGES 256

static volatile sig_atomic_t asked;
static unsigned long seed, gen = 1, npages;
static unsigned char *big, *ro, *gd;

static void on_usr1(int sig)
{
	(void)sig;
	asked = 1;
}

static int is_hole(unsigned long p)
{
	return p % 2048 >= 2000 && p % 2048 < 2040;
}

/* One page of generation g: xorshift64 words seeded by (seed, g, area, page). */
static void fill(uint64_t *w, unsigned long g, unsigned long area, unsigned long p)
{
	uint64_t x = (seed * 0x9e3779b97f4a7c15ULL) ^ (g << 40) ^ (area << 32) ^ (p + 1);
	unsigned long i;

	for (i = 0; i < PG / 8; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		w[i] = x;
	}
}

static int same(const unsigned char *page, unsigned long g, unsigned long area, unsigned long p)
{
	uint64_t want[PG / 8];

	fill(want, g, area, p);
	return memcmp(page, want, PG) == 0;
}

static int zero(const unsigned char *page)
{
	unsigned long i;

	for (i = 0; i < PG; i++)
		if (page[i])
			return 0;
	return 1;
}

static void write_all(unsigned long g)
{
	unsigned long p;

	for (p = 0; p < npages; p++)
		if (!is_hole(p))
			fill((uint64_t *)(big + p * PG), g, 0, p);
	mprotect(ro, RO_PAGES * PG, PROT_READ | PROT_WRITE);
	for (p = 0; p < RO_PAGES; p++)
		fill((uint64_t *)(ro + p * PG), g, 1, p);
	mprotect(ro, RO_PAGES * PG, PROT_READ);
	for (p = 0; p < GD_PAGES; p++)
		fill((uint64_t *)(gd + p * PG), g, 2, p);
}

static int verify(char *out, size_t len)
{
	unsigned long p;

	for (p = 0; p < npages; p++) {
		if (is_hole(p) ? !zero(big + p * PG) : !same(big + p * PG, gen, 0, p)) {
			snprintf(out, len, "bad big %lu %s", p * PG, zero(big + p * PG) ? "zero" : "data");
			return -1;
		}
	}
	for (p = 0; p < RO_PAGES; p++)
		if (!same(ro + p * PG, gen, 1, p)) {
			snprintf(out, len, "bad ro %lu", p * PG);
			return -1;
		}
	for (p = 0; p < GD_PAGES; p++)
		if (!same(gd + p * PG, gen, 2, p)) {
			snprintf(out, len, "bad growsdown %lu", p * PG);
			return -1;
		}
	snprintf(out, len, "ok %lu", gen);
	return 0;
}

static const char *what_is(const unsigned char *page, unsigned long p, char *buf, size_t len)
{
	unsigned long g;

	if (zero(page))
		return "zero";
	for (g = 1; g <= gen; g++)
		if (same(page, g, 0, p)) {
			snprintf(buf, len, "gen%lu", g);
			return buf;
		}
	return "other";
}

static void do_madvise(char *out, size_t len)
{
	unsigned long n = (1UL << 20) / PG, p;
	char what[32], res[32], v[64];
	const char *w;

	if (n > npages)
		n = npages;
	if (madvise(big, n * PG, MADV_DONTNEED)) {
		snprintf(out, len, "dontneed-failed %s", strerror(errno));
		return;
	}
	w = what_is(big, 0, what, sizeof(what));
	if (madvise(big, n * PG, MADV_FREE) == 0)
		strcpy(res, "0");
	else
		snprintf(res, sizeof(res), "%s", errno == EINVAL ? "EINVAL" : strerror(errno));
	for (p = 0; p < n; p++)
		if (!is_hole(p))
			fill((uint64_t *)(big + p * PG), gen, 0, p);
	verify(v, sizeof(v));
	snprintf(out, len, "dontneed %s free %s %s", w, res, v);
}

static void count_maps(char *out, size_t len)
{
	char line[PATH_MAX + 128];
	unsigned long n = 0;
	FILE *f = fopen("/proc/self/maps", "r");

	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, "/pages-") && strstr(line, ".img"))
			n++;
	if (f)
		fclose(f);
	snprintf(out, len, "maps %lu", n);
}

static void reply(const char *dir, const char *self, const char *text)
{
	char tmp[PATH_MAX + 64], path[PATH_MAX + 64];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s/.reply.%s", dir, self);
	snprintf(path, sizeof(path), "%s/reply.%s", dir, self);
	f = fopen(tmp, "w");
	if (!f)
		return;
	fprintf(f, "%s\n", text);
	fclose(f);
	rename(tmp, path);
}

static void whoami(char *self, size_t len)
{
	ssize_t n = readlink("/proc/self", self, len - 1);

	if (n < 0)
		snprintf(self, len, "%d", (int)getpid());
	else
		self[n] = '\0';
}

int main(int argc, char **argv)
{
	char self[32], path[PATH_MAX + 64], cmd[64], out[256];
	const char *dir;
	FILE *f;

	if (argc != 4)
		return 2;
	dir = argv[1];
	npages = strtoul(argv[2], NULL, 10) * (1UL << 20) / PG;
	seed = strtoul(argv[3], NULL, 10);

	big = mmap(NULL, npages * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ro = mmap(NULL, RO_PAGES * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	gd = mmap(NULL, GD_PAGES * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN, -1, 0);
	if (big == MAP_FAILED || ro == MAP_FAILED || gd == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	write_all(gen);
	signal(SIGUSR1, on_usr1);
	whoami(self, sizeof(self));
	reply(dir, self, "ready");

	for (;;) {
		while (!asked)
			usleep(10 * 1000);
		asked = 0;
		whoami(self, sizeof(self));
		snprintf(path, sizeof(path), "%s/cmd.%s", dir, self);
		cmd[0] = '\0';
		f = fopen(path, "r");
		if (f) {
			if (!fgets(cmd, sizeof(cmd), f))
				cmd[0] = '\0';
			fclose(f);
		}
		cmd[strcspn(cmd, "\n")] = '\0';
		if (!strcmp(cmd, "verify")) {
			verify(out, sizeof(out));
		} else if (!strcmp(cmd, "rewrite")) {
			gen++;
			write_all(gen);
			verify(out, sizeof(out));
		} else if (!strcmp(cmd, "madvise")) {
			do_madvise(out, sizeof(out));
		} else if (!strcmp(cmd, "maps")) {
			count_maps(out, sizeof(out));
		} else {
			snprintf(out, sizeof(out), "unknown '%s'", cmd);
		}
		reply(dir, self, out);
	}
}
