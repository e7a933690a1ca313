/*
 * The answer of a test program to SIGUSR1: one line written to DIR/reply.<its /proc/self>,
 * through a temporary file and rename(), so the script never reads half a line. Named by
 * /proc/self because that is the pid the script sees, even inside a restore's pid namespace.
 */
#ifndef CKPT_TEST_REPLY_H
#define CKPT_TEST_REPLY_H

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Writes the reply; `self` gets /proc/self's target ("unknown" if unreadable). */
static void write_reply(const char *dir, char self[32], const char *fmt, ...)
{
	char tmp[PATH_MAX + 64], path[PATH_MAX + 64];
	ssize_t len = readlink("/proc/self", self, 31);
	va_list ap;
	FILE *f;

	if (len < 0)
		strcpy(self, "unknown");
	else
		self[len] = '\0';
	snprintf(tmp, sizeof(tmp), "%s/.reply.%s", dir, self);
	snprintf(path, sizeof(path), "%s/reply.%s", dir, self);
	f = fopen(tmp, "w");
	if (!f)
		return;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
	rename(tmp, path);
}

#endif
