/*
 * test/criu/prog/creds-show.c — the task check-inherit-creds.sh checkpoints.
 *
 * Counts in memory and, every 100 ms, appends one line to stdout with the
 * counter and its credentials as the kernel reports them to the task itself:
 *
 *   pid=123 n=42 uid=65534,65534,65534 gid=65534,65534,65534 fsuid=65534 fsgid=65534
 *   groups=65534 prm=0 eff=0 inh=0 nnp=0
 *
 * (caps as 64-bit hex masks).  The check reads the last line, so it learns
 * what the restored task itself sees, not only /proc/PID/status.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/capability.h>

int main(void)
{
	unsigned long n = 0;

	setvbuf(stdout, NULL, _IONBF, 0);
	for (;;) {
		uid_t ru, eu, su;
		gid_t rg, eg, sg, groups[64];
		struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
		struct __user_cap_data_struct d[2];
		char line[1024], *p = line, *end = line + sizeof(line);
		int i, ng;

		memset(d, 0, sizeof(d));
		getresuid(&ru, &eu, &su);
		getresgid(&rg, &eg, &sg);
		ng = getgroups(64, groups);
		syscall(SYS_capget, &hdr, d);

		n++;
		p += snprintf(p, end - p, "pid=%d n=%lu uid=%u,%u,%u gid=%u,%u,%u fsuid=%d fsgid=%d groups=", getpid(), n, ru, eu, su,
			      rg, eg, sg, setfsuid(-1), setfsgid(-1));
		for (i = 0; i < ng; i++)
			p += snprintf(p, end - p, "%s%u", i ? "," : "", groups[i]);
		p += snprintf(p, end - p, " prm=%llx eff=%llx inh=%llx nnp=%d\n",
			      (unsigned long long)d[1].permitted << 32 | d[0].permitted,
			      (unsigned long long)d[1].effective << 32 | d[0].effective,
			      (unsigned long long)d[1].inheritable << 32 | d[0].inheritable,
			      prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
		if (write(1, line, p - line) < 0)
			return 1;
		usleep(100000);
	}
}
