/*
 * mem-hog: the benchmark workload. Holds N MiB of written anonymous memory and sleeps.
 *
 *   mem-hog <MiB>          the workload
 *   mem-hog <MiB> exit     write the memory, then exit: the benchmark runs this before each timed
 *                          step so that every step starts with the same state of free memory
 *
 * Every 64-bit word of the buffer gets a value from a xorshift generator, so every page is
 * present, non-zero and different from the others: CRIU cannot skip zero pages and the store
 * cannot deduplicate pages within one image. Prints "ready <MiB> <checksum>" once the memory is
 * written, then sleeps until killed (SIGTERM/SIGKILL end it the default way).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 2 && !(argc == 3 && !strcmp(argv[2], "exit"))) {
		fprintf(stderr, "usage: mem-hog <MiB> [exit]\n");
		return 2;
	}
	long mib = strtol(argv[1], NULL, 10);
	if (mib <= 0) {
		fprintf(stderr, "mem-hog: bad size %s\n", argv[1]);
		return 2;
	}
	size_t words = (size_t)mib * 1024 * 1024 / sizeof(uint64_t);
	uint64_t *buf = malloc(words * sizeof(uint64_t));
	if (!buf) {
		perror("mem-hog: malloc");
		return 1;
	}
	uint64_t x = 0x9e3779b97f4a7c15ULL ^ (uint64_t)getpid();
	uint64_t sum = 0;
	for (size_t i = 0; i < words; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = x | 1; /* never zero */
		sum += buf[i];
	}
	if (argc == 3)
		return sum == 0; /* use the sum, so the writes cannot be optimized away */
	printf("ready %ld %016llx\n", mib, (unsigned long long)sum);
	fflush(stdout);
	for (;;)
		pause();
}
