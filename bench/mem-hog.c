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
 *
 * The deferred cost of a restore (map-pages.mjs): SIGUSR1 reads one word of every page, SIGUSR2
 * writes one word of every page; each appends "read <µs>" or "write <µs>" (the time the touch
 * took, faults included) to the file named by $MEMHOG_REPORT, opened anew for each report so a
 * restored copy writes where the benchmark looks now.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void report(const char *what, double us, uint64_t sum)
{
	const char *path = getenv("MEMHOG_REPORT");
	if (!path)
		return;
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	dprintf(fd, "%s %.0f %llu\n", what, us, (unsigned long long)(sum & 1));
	close(fd);
}

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
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, NULL);
	printf("ready %ld %016llx\n", mib, (unsigned long long)sum);
	fflush(stdout);
	size_t page_words = (size_t)sysconf(_SC_PAGESIZE) / sizeof(uint64_t);
	for (;;) {
		int sig = sigwaitinfo(&set, NULL);
		if (sig < 0)
			continue; /* EINTR: a dump or restore came by */
		volatile uint64_t *v = buf;
		uint64_t acc = 0;
		double t0 = now_us();
		if (sig == SIGUSR1) {
			for (size_t i = 0; i < words; i += page_words)
				acc += v[i];
			report("read", now_us() - t0, acc);
		} else {
			for (size_t i = 0; i < words; i += page_words)
				v[i] = v[i] + 1;
			report("write", now_us() - t0, 0);
		}
	}
}
