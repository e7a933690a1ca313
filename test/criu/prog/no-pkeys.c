/*
 * no-pkeys CMD [ARG...]: runs CMD as on a machine without memory protection keys: a seccomp
 * filter makes pkey_alloc(2) fail with ENOSPC, what the kernel returns when the CPU has no PKU
 * (arch_max_pkey() is 1: key 0, always allocated, is the only one).  The filter stays on CMD's
 * children too.  x86_64 only.  Used by check-protection-keys.sh.
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_pkey_alloc, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSPC),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(filter) / sizeof(filter[0]), .filter = filter };

	if (argc < 2) {
		fprintf(stderr, "usage: no-pkeys CMD [ARG...]\n");
		return 2;
	}
	/* root with CAP_SYS_ADMIN needs no no_new_privs; without it, set it */
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) &&
	    (errno != EACCES || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	     prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog))) {
		perror("no-pkeys: seccomp");
		return 2;
	}
	execvp(argv[1], argv + 1);
	perror("no-pkeys: exec");
	return 127;
}
