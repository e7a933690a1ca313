/*
 * test/criu/prog/map-image.c — memory that a pages image may back, for
 * check-chain-copy.sh (criu-patches/0013).
 *
 *   map-image create FILE MIB SEED
 *       FILE gets MIB MiB of the pattern for generation 0 (the "old image"),
 *       then is fsynced and dropped from the page cache.
 *   map-image mark FILE | hasmark FILE
 *       set user.criu.pages=1 on FILE (what dump does for its pages-N.img)
 *       | exit 0 if FILE has that xattr.
 *   map-image run MODE FILE MIB SEED DIR
 *       MODE private/shared: mmaps FILE PROT_READ|PROT_WRITE MAP_PRIVATE or
 *       MAP_SHARED (the fd is closed again); private+split: private, the
 *       second quarter mprotected to add PROT_EXEC (three VMAs of one
 *       file); mixed: first half private, second half shared, adjacent;
 *       anon: MIB MiB of anonymous memory, every page written with
 *       generation 1 (FILE is ignored).
 *       File modes write generation 1 into every third page (copy on write
 *       for private) and leave the others as the file has them.  Every
 *       100 ms: verifies the first eighth of the pages (those stay read-
 *       faulted; the rest is never read, so not present until a full
 *       check) and prints "tick N".  When DIR/write exists: pages
 *       i % 7 == 1 get the next generation, "write N pages=K", file removed.
 *       When DIR/full exists: every byte is verified, "full N ok pages=P
 *       gensum=S" (S: the sum of the pages' generations, which the caller
 *       can predict: a copy that lost writes has a smaller one) or
 *       "full N BAD page P off O got X want Y", file removed.
 *
 * The expected 8-byte word at offset o of a page of generation g is
 * o * K1 ^ SEED ^ g * K2: every word differs from its neighbours, from other
 * generations and from zero, so a page restored as a hole, from the wrong
 * offset or from an older generation is caught.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#define K1 0x9E3779B97F4A7C15ULL
#define K2 0xD1B54A32D192ED03ULL

static long psz;
static uint64_t seed;

static inline uint64_t word(uint64_t off, uint64_t gen)
{
	return (off * K1) ^ seed ^ (gen * K2);
}

static void fill(uint64_t *p, uint64_t off, uint64_t gen)
{
	for (long i = 0; i < psz / 8; i++)
		p[i] = word(off + i * 8, gen);
}

/* 0 if page at off (generation gen) is intact, else the bad word's index + 1 */
static long check(const uint64_t *p, uint64_t off, uint64_t gen)
{
	for (long i = 0; i < psz / 8; i++)
		if (p[i] != word(off + i * 8, gen))
			return i + 1;
	return 0;
}

static int create(const char *path, long mib)
{
	uint64_t *buf = malloc(psz);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || !buf) {
		perror(path);
		return 1;
	}
	for (uint64_t off = 0; off < (uint64_t)mib << 20; off += psz) {
		fill(buf, off, 0);
		if (write(fd, buf, psz) != psz) {
			perror("write");
			return 1;
		}
	}
	if (fsync(fd) || posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED)) {
		perror("fsync/fadvise");
		return 1;
	}
	close(fd);
	return 0;
}

/* pages of [p, p + len) that pagemap shows present, and of those, file-backed */
static void count_present(void *p, size_t len, long *present, long *file)
{
	int fd = open("/proc/self/pagemap", O_RDONLY);
	size_t n = len / psz;
	uint64_t *pm = malloc(n * 8);

	*present = *file = -1;
	if (fd < 0 || !pm || pread(fd, pm, n * 8, (uintptr_t)p / psz * 8) != (ssize_t)(n * 8))
		goto out;
	*present = *file = 0;
	for (size_t i = 0; i < n; i++) {
		if (pm[i] & (1ULL << 63)) {
			(*present)++;
			if (pm[i] & (1ULL << 61))
				(*file)++;
		}
	}
out:
	free(pm);
	if (fd >= 0)
		close(fd);
}

static int trigger(const char *dir, const char *name)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return unlink(path) == 0;
}

int main(int argc, char **argv)
{
	psz = sysconf(_SC_PAGESIZE);
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (argc == 3 && !strcmp(argv[1], "mark")) {
		if (setxattr(argv[2], "user.criu.pages", "1", 1, 0)) {
			perror("setxattr user.criu.pages");
			return 1;
		}
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "hasmark"))
		return getxattr(argv[2], "user.criu.pages", NULL, 0) < 0;
	if (argc == 5 && !strcmp(argv[1], "create")) {
		seed = strtoull(argv[4], NULL, 0);
		return create(argv[2], atol(argv[3]));
	}
	if (argc != 7) {
		fprintf(stderr, "usage: map-image create FILE MIB SEED | mark FILE | hasmark FILE |\n"
				"       run private|private+split|shared|mixed|anon FILE MIB SEED DIR\n");
		return 2;
	}

	const char *mode = argv[2], *file = argv[3], *dir = argv[6];
	size_t len = (size_t)atol(argv[4]) << 20, npages = len / psz, hot = npages / 8;
	unsigned char *gen = calloc(npages, 1), *map;
	unsigned long tick = 0, writes = 0;

	seed = strtoull(argv[5], NULL, 0);
	if (!gen)
		return 1;
	if (!strcmp(mode, "anon")) {
		map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	} else {
		int shared = !strcmp(mode, "shared"), mixed = !strcmp(mode, "mixed");
		int fd = open(file, shared || mixed ? O_RDWR : O_RDONLY);

		if (fd < 0) {
			perror(file);
			return 1;
		}
		map = mmap(NULL, len, PROT_READ | PROT_WRITE, shared ? MAP_SHARED : MAP_PRIVATE, fd, 0);
		/* mixed: the second half of the same file mapped shared right after the private half */
		if (map != MAP_FAILED && mixed &&
		    mmap(map + len / 2, len / 2, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, len / 2) == MAP_FAILED)
			map = MAP_FAILED;
		/* private+split: three VMAs of one file, [n/4, n/2) also executable */
		if (map != MAP_FAILED && !strcmp(mode, "private+split") &&
		    mprotect(map + len / 4, len / 4, PROT_READ | PROT_WRITE | PROT_EXEC))
			map = MAP_FAILED;
		close(fd);
	}
	if (map == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	for (size_t i = 0; i < npages; i++) {
		if (!strcmp(mode, "anon") || i % 3 == 0) {
			gen[i] = 1;
			fill((uint64_t *)(map + i * psz), i * psz, 1);
		}
	}

	long cow = 0, present, filep;
	for (size_t i = 0; i < npages; i++)
		cow += gen[i] != 0;
	long badhot = 0;
	for (size_t i = 0; i < hot; i++)
		badhot += check((uint64_t *)(map + i * psz), i * psz, gen[i]) != 0;
	count_present(map, len, &present, &filep);
	printf("setup addr=%lx-%lx pages=%zu written=%ld present=%ld present_file=%ld%s\n", (unsigned long)map,
	       (unsigned long)(map + len), npages, cow, present, filep, badhot ? " BAD" : "");

	for (;; tick++) {
		for (size_t i = 0; i < hot; i++) {
			long bad = check((uint64_t *)(map + i * psz), i * psz, gen[i]);
			if (bad) {
				printf("tick %lu BAD page %zu\n", tick, i);
				break;
			}
		}
		if (trigger(dir, "write")) {
			long k = 0;
			writes++;
			for (size_t i = 1; i < npages; i += 7) {
				gen[i]++;
				fill((uint64_t *)(map + i * psz), i * psz, gen[i]);
				k++;
			}
			printf("write %lu pages=%ld\n", writes, k);
		}
		if (trigger(dir, "full")) {
			size_t i;
			long bad = 0;
			for (i = 0; i < npages; i++) {
				bad = check((uint64_t *)(map + i * psz), i * psz, gen[i]);
				if (bad)
					break;
			}
			if (bad) {
				uint64_t off = i * psz + (bad - 1) * 8;
				printf("full %lu BAD page %zu off %" PRIu64 " got %" PRIx64 " want %" PRIx64 "\n", tick,
				       i, off, ((uint64_t *)map)[off / 8], word(off, gen[i]));
			} else {
				unsigned long sum = 0;
				for (i = 0; i < npages; i++)
					sum += gen[i];
				printf("full %lu ok pages=%zu gensum=%lu\n", tick, npages, sum);
			}
		}
		printf("tick %lu\n", tick);
		usleep(100000);
	}
}
