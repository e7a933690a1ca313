/*
 * ckpt-shim: keeps one service of a ckpt stack running without a daemon.
 *
 * Layout it creates (what CRIU later dumps is everything from "init" down):
 *
 *   ckpt-shim            host pid namespace; own session; child subreaper; reaps and records
 *     └─ init            pid 1 of a fresh pid namespace (+ mount/uts/ipc, optionally net);
 *         └─ service     forwards signals to the service, reaps orphans, exits with its status
 *
 * Why a shim at all: ckpt is daemonless (`ckpt up -d` returns), yet somebody must reap the
 * namespace init and remember how it ended; this machine's PID 1 reaps orphans only after
 * seconds.  The shim is also a subreaper so that a tree CRIU restores with --restore-detached
 * (a later mode) is re-parented to it rather than to PID 1.
 *
 * Why our own init rather than running the service as pid 1: pid 1 gets no default signal
 * actions, so `node server.js` as pid 1 would ignore SIGTERM; and the init keeps the namespace
 * (and the process tree CRIU dumps) rooted at a tiny, well-known program.
 *
 * Usage:
 *   ckpt-shim run   --state DIR --log FILE [--cgroup DIR] [--net private | --netns PATH]
 *                   [--hostname NAME] [--hosts FILE] [--resolv FILE] [--workdir DIR]
 *                   [--user USER[:GROUP]] [--pid host] [--restart POLICY]
 *                   [--bind[-ro] SRC DST | --tmpfs[-ro] DST OPTIONS]... -- ARGV...
 *   ckpt-shim adopt --state DIR [--cgroup DIR] [--log FILE] -- ARGV...   run ARGV (criu restore
 *                   --restore-detached) in the cgroup with the log as fd 3, then wait for the
 *                   tree it leaves behind, which the kernel re-parents to us.
 *   ckpt-shim netns --state DIR [--publish IP:PORT:[TIP:]TARGET]... holds a stack's network
 *                   namespace and relays published ports into it.
 *   ckpt-shim guard thaws a stack's cgroups if ckpt dies while holding them frozen.
 *
 * Files written into --state DIR: shim.pid, init.pid (host pid of the namespace init),
 * exit (one line: "exited N" or "signaled N"), shim.log (the shim's own diagnostics).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *state_dir;
static FILE *shim_log;

static void logmsg(const char *fmt, ...)
{
	va_list ap;
	FILE *out = shim_log ? shim_log : stderr;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	fprintf(out, "[%ld.%03ld %d] ", (long)ts.tv_sec, ts.tv_nsec / 1000000, getpid());
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
	fputc('\n', out);
	fflush(out);
}

static void die(const char *what)
{
	logmsg("fatal: %s: %s", what, strerror(errno));
	_exit(127);
}

/* Written to a temp file and renamed, so a reader never sees half a pid. */
static void write_state(const char *name, const char *fmt, ...)
{
	char path[4096], tmp[4200];
	va_list ap;
	snprintf(path, sizeof(path), "%s/%s", state_dir, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, getpid());
	FILE *f = fopen(tmp, "w");
	if (!f)
		die("open state file");
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	if (fflush(f) || fsync(fileno(f)) || fclose(f))
		die("write state file");
	if (rename(tmp, path))
		die("rename state file");
}

static void record_exit(int status)
{
	if (WIFEXITED(status))
		write_state("exit", "exited %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		write_state("exit", "signaled %d", WTERMSIG(status));
}

/* ---- the namespace init ------------------------------------------------------------------ */

/*
 * Moves the calling process into a cgroup directory (writing 0 means "me", so there is no window
 * in which a child could be forked outside it). ckpt freezes this cgroup to take a consistent cut.
 */
static void join_cgroup(const char *dir)
{
	char path[4096];
	if (!dir)
		return;
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "0\n", 2) != 2)
		die("join cgroup");
	close(fd);
}

static void join_netns(const char *path)
{
	if (!path)
		return;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET))
		die("join the stack's network namespace");
	close(fd);
}

static volatile pid_t service_pid;
/* the init was asked to stop (down, Ctrl-C): a service that ends now is not restarted */
static volatile sig_atomic_t stopping;

static void forward_signal(int sig)
{
	if (sig == SIGTERM || sig == SIGINT || sig == SIGQUIT)
		stopping = 1;
	if (service_pid > 0)
		kill(service_pid, sig);
}

static void bring_up_loopback(void)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket for lo");
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		die("SIOCGIFFLAGS lo");
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		die("SIOCSIFFLAGS lo");
	close(fd);
}

static void drop_to_user(const char *spec)
{
	char buf[256];
	char *group;
	uid_t uid;
	gid_t gid;
	char *end;

	snprintf(buf, sizeof(buf), "%s", spec);
	group = strchr(buf, ':');
	if (group)
		*group++ = '\0';

	struct passwd *pw = getpwnam(buf);
	if (pw) {
		uid = pw->pw_uid;
		gid = pw->pw_gid;
	} else {
		errno = 0;
		uid = (uid_t)strtoul(buf, &end, 10);
		if (*buf == '\0' || *end != '\0') {
			logmsg("fatal: unknown user %s", buf);
			_exit(127);
		}
		pw = getpwuid(uid);
		gid = pw ? pw->pw_gid : (gid_t)uid;
	}
	if (group) {
		struct group *gr = getgrnam(group);
		if (gr)
			gid = gr->gr_gid;
		else {
			gid = (gid_t)strtoul(group, &end, 10);
			if (*group == '\0' || *end != '\0') {
				logmsg("fatal: unknown group %s", group);
				_exit(127);
			}
		}
	}
	if (pw && !group) {
		if (initgroups(pw->pw_name, gid))
			die("initgroups");
	} else if (setgroups(1, &gid))
		die("setgroups");
	if (setgid(gid))
		die("setgid");
	if (setuid(uid))
		die("setuid");
	if (pw && !getenv("HOME"))
		setenv("HOME", pw->pw_dir, 1);
}

struct run_opts {
	const char *cgroup;
	/* an existing network namespace to join (the stack's), e.g. /proc/PID/ns/net */
	const char *netns;
	/* netns mode: HOSTIP:HOSTPORT:[TARGETIP:]TARGETPORT, HOSTPORT 0 = any free port */
	const char *publish[64];
	int npublish;
	const char *log;
	/* files bound over /etc/hosts and /etc/resolv.conf in the service's mount namespace
	 * (compose networks' names: its own hosts file, or Docker's DNS in a holder's namespace) */
	const char *hosts;
	const char *resolv;
	/* compose volumes: binds (a volume's directory or a host path) and tmpfs, in this order;
	 * ckpt sorts them parents first and makes their mount points */
	struct { const char *src, *dst, *opts; int kind; } mounts[64];
	int nmounts;
	const char *hostname;
	const char *workdir;
	const char *user;
	/* init: compose's restart policy (no, always, unless-stopped, on-failure[:N]) */
	const char *restart;
	/* init: the fd on which to tell the shim that the service has been forked */
	int ready_fd;
	int private_net;
	/* run: the program runs in the host's pid and mount namespaces, as the root of its own tree */
	int host_pid;
	/* adopt: CRIU's stdout and stderr are the new output pipe (for criu --inherit-stdio) */
	int stdio_pipe;
	/* adopt: stay in the caller's session and keep its stdio (ckpt restore --here) */
	int here;
	char **argv;
};

static char self_path[4096];

/*
 * Reopens stdin by path from inside the new mount namespace: a file opened before unshare keeps
 * the host's mount, which CRIU cannot find in the namespace it dumps ("Can't lookup mount").
 * stdout and stderr are the shim's pipe, which belongs to no mount.
 */
static void reopen_stdin(void)
{
	int nul = open("/dev/null", O_RDONLY);
	if (nul < 0 || dup2(nul, 0) < 0)
		die("reopen stdin");
	close(nul);
}

/* Mount points under these belong to container engines: a service has no business with them. */
static const char *const foreign_roots[] = {
	"/run/docker/", "/var/run/docker/", "/var/lib/docker/", "/run/containerd/",
	"/var/lib/containerd/", "/run/netns/", "/var/run/netns/", "/var/lib/containers/",
	"/run/containers/", NULL,
};

/* mountinfo escapes space, tab, newline and backslash as \ooo */
static void unescape_mountinfo(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '7' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = 0;
}

static int is_foreign_mount(const char *mnt, const char *fstype)
{
	/* a namespace file pinned by someone else (docker's netns, ip netns): CRIU cannot dump it */
	if (!strcmp(fstype, "nsfs"))
		return 1;
	for (int i = 0; foreign_roots[i]; i++)
		if (!strncmp(mnt, foreign_roots[i], strlen(foreign_roots[i])))
			return 1;
	return 0;
}

/*
 * Detaches, in the service's new mount namespace, what container engines mounted on the host:
 * namespace files (CRIU refuses them: "doesn't have a proper root mount"), containers' overlay
 * roots and their shm tmpfs (CRIU would try to dump them, and a restore would need them back
 * after the containers are gone). The host keeps them; only the service's copy loses them.
 * Repeats until none is left, since detaching a parent first can hide its children.
 */
static void detach_foreign_mounts(void)
{
	for (int pass = 0; pass < 16; pass++) {
		FILE *f = fopen("/proc/self/mountinfo", "re");
		if (!f)
			die("open /proc/self/mountinfo");
		char line[4096];
		int detached = 0;
		while (fgets(line, sizeof(line), f)) {
			/* id parent major:minor root mountpoint options [optional...] - fstype source super */
			char *save = NULL, *tok = strtok_r(line, " ", &save);
			char *mnt = NULL, *fstype = NULL;
			for (int field = 0; tok; field++, tok = strtok_r(NULL, " ", &save)) {
				if (field == 4)
					mnt = tok;
				if (!strcmp(tok, "-")) {
					fstype = strtok_r(NULL, " ", &save);
					break;
				}
			}
			if (!mnt || !fstype)
				continue;
			unescape_mountinfo(mnt);
			if (is_foreign_mount(mnt, fstype) && umount2(mnt, MNT_DETACH) == 0)
				detached++;
		}
		fclose(f);
		if (!detached)
			return;
	}
}

enum { MOUNT_BIND, MOUNT_BIND_RO, MOUNT_TMPFS, MOUNT_TMPFS_RO };

/* The service's compose volumes, in its own mount namespace (the host never sees them). */
static void mount_volumes(struct run_opts *o)
{
	char what[4200];
	for (int i = 0; i < o->nmounts; i++) {
		int kind = o->mounts[i].kind;
		const char *dst = o->mounts[i].dst;
		snprintf(what, sizeof(what), "mount %s at %s", kind >= MOUNT_TMPFS ? "tmpfs" : o->mounts[i].src, dst);
		if (kind == MOUNT_TMPFS || kind == MOUNT_TMPFS_RO) {
			unsigned long ro = kind == MOUNT_TMPFS_RO ? MS_RDONLY : 0;
			if (mount("tmpfs", dst, "tmpfs", MS_NOSUID | MS_NODEV | ro, o->mounts[i].opts))
				die(what);
			continue;
		}
		if (mount(o->mounts[i].src, dst, NULL, MS_BIND | MS_REC, NULL))
			die(what);
		/* a bind takes the source's flags; read-only needs a remount of the bind itself */
		if (kind == MOUNT_BIND_RO && mount(NULL, dst, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC, NULL))
			die(what);
	}
}

/* First half of the init, still running the binary mapped from the host's mounts. */
static int enter_namespaces(struct run_opts *o, char **argv_rest)
{
	int flags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC;

	if (o->private_net)
		flags |= CLONE_NEWNET;
	if (unshare(flags))
		die("unshare");
	/* Nothing we mount may leak back to the host, and host mounts must not appear later. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		die("make / private");
	detach_foreign_mounts();
	/* A /proc of our own pid namespace, so that pids seen inside are the namespace's. */
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL))
		die("mount /proc");
	/*
	 * A /dev/shm of the service's own, as in a container: CRIU tars every tmpfs of the namespace
	 * into the checkpoint, and the host's shared one may be large and is none of its business.
	 */
	while (umount2("/dev/shm", MNT_DETACH) == 0)
		;
	if (mount("shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=65536k"))
		die("mount /dev/shm");
	if (o->hostname && sethostname(o->hostname, strlen(o->hostname)))
		die("sethostname");
	if (o->hosts && mount(o->hosts, "/etc/hosts", NULL, MS_BIND, NULL))
		die("bind the stack's hosts file over /etc/hosts");
	if (o->resolv && mount(o->resolv, "/etc/resolv.conf", NULL, MS_BIND, NULL))
		die("bind the service's resolv.conf over /etc/resolv.conf");
	mount_volumes(o);
	if (o->private_net)
		bring_up_loopback();
	reopen_stdin();
	/* CRIU refuses a tree whose session leader lives outside the pid namespace it dumps. */
	if (setsid() < 0)
		die("setsid in init");

	/* Re-exec by path so that our text, too, is mapped through the namespace's own mounts. */
	char *args[16 + 1024];
	int n = 0;
	args[n++] = "ckpt-shim";
	args[n++] = "init";
	args[n++] = "--state";
	args[n++] = (char *)state_dir;
	static char ready[16];
	snprintf(ready, sizeof(ready), "%d", o->ready_fd);
	args[n++] = "--ready-fd";
	args[n++] = ready;
	if (o->workdir) {
		args[n++] = "--workdir";
		args[n++] = (char *)o->workdir;
	}
	if (o->user) {
		args[n++] = "--user";
		args[n++] = (char *)o->user;
	}
	if (o->restart) {
		args[n++] = "--restart";
		args[n++] = (char *)o->restart;
	}
	args[n++] = "--";
	for (int i = 0; argv_rest[i] && n < 16 + 1023; i++)
		args[n++] = argv_rest[i];
	args[n] = NULL;
	execv(self_path, args);
	die("re-exec init");
	return 127;
}

/*
 * The service itself. It leads its own session and group, as after a fresh login (and CRIU
 * refuses a tree whose session leader is outside it).
 */
static void exec_program(struct run_opts *o)
{
	if (setsid() < 0)
		die("setsid");
	if (o->workdir && chdir(o->workdir))
		die("chdir");
	if (o->user)
		drop_to_user(o->user);
	execvp(o->argv[0], o->argv);
	fprintf(stderr, "ckpt: cannot run %s: %s\n", o->argv[0], strerror(errno));
	_exit(127);
}

/* The signals the init forwards to the service (its handlers are installed once it runs). */
static const int forwarded[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };

static pid_t fork_service(struct run_opts *o, const sigset_t *old)
{
	pid_t pid = fork();
	if (pid < 0)
		die("fork service");
	if (pid == 0) {
		/*
		 * A restart forks after the init's forwarding handlers are in place: a SIGTERM (down)
		 * that reached the child before exec would run the init's handler in it and be lost,
		 * and the service would then run until SIGKILL. Default actions first, then unblock.
		 */
		for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
			signal(forwarded[i], SIG_DFL);
		sigprocmask(SIG_SETMASK, old, NULL);
		exec_program(o);
	}
	return pid;
}

/*
 * Whether compose's policy restarts a service that ended with `code` after `restarts` restarts.
 * always and unless-stopped are the same here: a stopped stack is down, never started again by
 * anyone but `ckpt up`.
 */
static int wants_restart(const char *policy, int code, int restarts)
{
	if (!policy || stopping)
		return 0;
	if (!strcmp(policy, "always") || !strcmp(policy, "unless-stopped"))
		return 1;
	if (!strncmp(policy, "on-failure", 10)) {
		int max = policy[10] == ':' ? atoi(policy + 11) : 0;
		return code != 0 && (max <= 0 || restarts < max);
	}
	return 0;
}

/* Waits `ms` while reaping the namespace's orphans; returns early (0) when asked to stop. */
static int backoff(long ms)
{
	struct timespec tick = { 0, 20 * 1000000L };
	for (long waited = 0; waited < ms; waited += 20) {
		if (stopping)
			return 0;
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		nanosleep(&tick, NULL);
	}
	return !stopping;
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Second half: pid 1 of the namespace, running the service below it. */
static int cmd_init(struct run_opts *o)
{
	sigset_t all, old;

	/* the service must not inherit it */
	if (o->ready_fd > 0 && fcntl(o->ready_fd, F_SETFD, FD_CLOEXEC) < 0)
		die("ready fd");

	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	service_pid = fork_service(o, &old);
	long started = now_ms();
	int restarts = 0, delay_ms = 100;
	/* Only now is the service pid 2 of the namespace: let the shim report the start. */
	if (o->ready_fd > 0) {
		if (write(o->ready_fd, "1", 1) < 0)
			logmsg("ready: %s", strerror(errno));
		close(o->ready_fd);
	}

	struct sigaction sa = { .sa_handler = forward_signal };
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaction(forwarded[i], &sa, NULL);
	sigprocmask(SIG_SETMASK, &old, NULL);

	/* Reap everything; leave when the service itself has ended. Orphans inside the namespace
	 * are re-parented to us, so this loop is also the namespace's reaper. */
	for (;;) {
		int status;
		pid_t w = waitpid(-1, &status, 0);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			die("waitpid in init");
		}
		if (w == service_pid) {
			int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
			if (!wants_restart(o->restart, code, restarts))
				return code;
			/* Docker's backoff: 100 ms doubling per restart, back to 100 ms after 10 s of running. */
			if (now_ms() - started >= 10000)
				delay_ms = 100;
			fprintf(stderr, "ckpt: the service ended (%s %d); restart: %s, restarting in %d ms\n", WIFEXITED(status) ? "exit" : "signal",
				WIFEXITED(status) ? code : WTERMSIG(status), o->restart, delay_ms);
			service_pid = 0;
			if (!backoff(delay_ms))
				return code;
			if (delay_ms < 60000)
				delay_ms *= 2;
			restarts++;
			sigprocmask(SIG_BLOCK, &all, NULL);
			service_pid = fork_service(o, &old);
			started = now_ms();
			sigprocmask(SIG_SETMASK, &old, NULL);
		}
	}
}

/* ---- the shim ------------------------------------------------------------------------------ */

static volatile pid_t child_pid;
/* --here: the restored program's process group, which gets the signals a terminal would send it */
static volatile pid_t child_pgid;
/* --here: a signal that came while CRIU was still restoring, for the program once it runs */
static volatile sig_atomic_t held_sig;
static int holding;

static void relay_signal(int sig)
{
	/* Ctrl-C in a terminal reaches the whole foreground group: a shell waiting for its child
	 * (bash) ignores a SIGINT its child did not get too. */
	if (holding)
		held_sig = sig;
	else if (child_pgid > 0)
		kill(-child_pgid, sig);
	else if (child_pid > 0)
		kill(child_pid, sig);
}

static void become_shim(int here)
{
	char path[4096];

	/* Whatever the caller left open must not reach the service (nor its checkpoint). */
	if (syscall(SYS_close_range, 3, ~0U, 0))
		die("close_range");
	snprintf(path, sizeof(path), "%s/shim.log", state_dir);
	shim_log = fopen(path, "ae");
	if (!shim_log)
		die("open shim.log");
	setvbuf(shim_log, NULL, _IOLBF, 0);

	if (prctl(PR_SET_CHILD_SUBREAPER, 1))
		die("PR_SET_CHILD_SUBREAPER");
	write_state("shim.pid", "%d", getpid());
	/* --here: the caller's terminal is the restored program's, and so are its Ctrl-C and hangup. */
	if (here)
		return;
	/* Out of the caller's session, so its terminal's Ctrl-C or hangup never reaches us. */
	if (getsid(0) != getpid() && setsid() < 0)
		die("setsid");

	int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nul < 0 || dup2(nul, 0) < 0 || dup2(nul, 1) < 0 || dup2(nul, 2) < 0)
		die("stdio");
	close(nul);
}

/*
 * The service's stdout and stderr are a pipe that we copy into its log, as conmon does for
 * containers. A pipe belongs to no mount, so the tree dumps from inside its mount namespace, and
 * a restore hands CRIU a new pipe for it (--inherit-fd fd[3]:pipe:[inode]), so a grown, moved or
 * shared log never matters.
 */
static int open_log(const char *log)
{
	int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (fd < 0)
		die("open log");
	return fd;
}

static int write_all(int fd, const char *buf, ssize_t n)
{
	for (ssize_t off = 0; off < n;) {
		ssize_t w = write(fd, buf + off, n - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		off += w;
	}
	return 0;
}

static void pump(int from, int to)
{
	char buf[65536];
	for (;;) {
		ssize_t n = read(from, buf, sizeof(buf));
		if (n == 0)
			return;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			logmsg("read service output: %s", strerror(errno));
			return;
		}
		if (write_all(to, buf, n) < 0)
			logmsg("write log: %s", strerror(errno));
	}
}

static void install_relay(void)
{
	struct sigaction sa = { .sa_handler = relay_signal };
	sigemptyset(&sa.sa_mask);
	int fwd[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };
	for (size_t i = 0; i < sizeof(fwd) / sizeof(fwd[0]); i++)
		sigaction(fwd[i], &sa, NULL);
}

/*
 * Reaps our children (and the orphans re-parented to us, a subreaper), recording how the
 * service ended: until `main` ends, or with main 0 (an adopted tree) until none is left.
 */
static int reap(pid_t main)
{
	int last = 0;
	for (;;) {
		int status;
		pid_t w = waitpid(-1, &status, 0);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ECHILD)
				return last;
			die("waitpid");
		}
		if (main == 0 || w == main) {
			record_exit(status);
			last = status;
			logmsg("%d ended (status 0x%x)", w, status);
			if (main)
				return last;
		}
	}
}

static void thaw(const char *dir);

static void kill_cgroup(const char *dir)
{
	char path[4096];
	if (!dir)
		return;
	thaw(dir);
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	FILE *f = fopen(path, "re");
	if (!f)
		return;
	int pid;
	while (fscanf(f, "%d", &pid) == 1)
		kill(pid, SIGKILL);
	fclose(f);
}

static int cmd_run(struct run_opts *o)
{
	int out[2], ready[2];

	become_shim(0);
	int log = open_log(o->log);
	if (pipe2(out, O_CLOEXEC) || pipe2(ready, O_CLOEXEC))
		die("pipe");
	if (!o->host_pid && unshare(CLONE_NEWPID))
		die("unshare pid namespace");
	pid_t pid = fork();
	if (pid < 0)
		die("fork init");
	if (pid == 0) {
		join_cgroup(o->cgroup);
		join_netns(o->netns);
		if (o->host_pid) {
			/* No init and no namespaces: the program is the root of the tree ckpt dumps, and
			 * leads its own session (CRIU refuses a session leader outside the tree). The
			 * ready pipe is close-on-exec: its EOF tells the shim the program is running. */
			if (dup2(out[1], 1) < 0 || dup2(out[1], 2) < 0)
				die("dup2 output pipe");
			fclose(shim_log);
			shim_log = NULL;
			exec_program(o);
		}
		/* kept across the re-exec of the init: cmd_init writes to it once the service exists */
		close(ready[0]);
		o->ready_fd = fcntl(ready[1], F_DUPFD, 3);
		if (o->ready_fd < 0)
			die("dup ready fd");
		if (dup2(out[1], 1) < 0 || dup2(out[1], 2) < 0)
			die("dup2 output pipe");
		fclose(shim_log);
		shim_log = NULL;
		_exit(enter_namespaces(o, o->argv));
	}
	close(out[1]);
	close(ready[1]);
	child_pid = pid;
	install_relay();
	/* Wait until the service is forked (or the init failed: EOF), so that anything ckpt then
	 * runs in the namespace (a healthcheck) never takes the service's pid 2. */
	char byte;
	while (read(ready[0], &byte, 1) < 0 && errno == EINTR)
		;
	close(ready[0]);
	write_state("init.pid", "%d", pid);
	logmsg("started init %d for %s", pid, o->argv[0]);

	/* Until every writer is gone, i.e. the whole namespace has ended. */
	pump(out[0], log);
	return reap(pid);
}

/* The restored root's pid, from the --pidfile CRIU wrote (0 if none): signals are relayed to it. */
static pid_t restored_root(char **argv)
{
	for (int i = 0; argv[i] && argv[i + 1]; i++) {
		if (strcmp(argv[i], "--pidfile"))
			continue;
		FILE *f = fopen(argv[i + 1], "re");
		int pid = 0;
		if (f) {
			if (fscanf(f, "%d", &pid) != 1)
				pid = 0;
			fclose(f);
		}
		return pid;
	}
	return 0;
}

/*
 * adopt: ARGV (criu restore --restore-detached --pidfile F) leaves a tree behind whose root the
 * kernel re-parents to us, the nearest subreaper.  We wait for ARGV, then for whatever it left.
 */
static int cmd_adopt(struct run_opts *o)
{
	int out[2] = { -1, -1 };
	int log = -1;

	become_shim(o->here);
	/* A Ctrl-C during the restore is for the program, not for CRIU (it would be lost). */
	holding = o->here;
	if (o->log) {
		log = open_log(o->log);
		if (pipe2(out, O_CLOEXEC))
			die("pipe");
	}
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		join_cgroup(o->cgroup);
		/* The service's new output pipe, for `criu restore --inherit-fd fd[3]:pipe:[...]` */
		if (o->log && dup2(out[1], 3) < 0)
			die("dup2 output pipe");
		/* --here: the terminal's Ctrl-C must not reach CRIU mid-restore; the shim holds it */
		if (o->here && setpgid(0, 0) < 0)
			die("setpgid");
		/* ... or as CRIU's own stdout and stderr, for `criu restore --inherit-stdio` */
		if (o->log && o->stdio_pipe && (dup2(out[1], 1) < 0 || dup2(out[1], 2) < 0))
			die("dup2 output pipe to stdio");
		/* The stack's network namespace, for `--inherit-fd fd[4]:<key of the external netns>` */
		if (o->netns) {
			int ns = open(o->netns, O_RDONLY);
			if (ns < 0 || dup2(ns, 4) < 0)
				die("open the stack's network namespace");
			if (ns != 4)
				close(ns);
		}
		execvp(o->argv[0], o->argv);
		die("exec");
	}
	if (o->log)
		close(out[1]);
	child_pid = pid;
	install_relay();
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die("waitpid");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		logmsg("%s failed (status 0x%x)", o->argv[0], status);
		/* What a failed restore left (re-parented to us) is gone and reaped before we say so. */
		kill_cgroup(o->cgroup);
		reap(0);
		write_state("adopt-failed", "%d", status);
		return 1;
	}
	/* Whatever CRIU left behind was re-parented to us, the subreaper. */
	child_pid = o->here ? restored_root(o->argv) : 0;
	if (child_pid > 0) {
		pid_t g = getpgid(child_pid);
		child_pgid = g > 0 ? g : 0;
	}
	holding = 0;
	if (held_sig)
		relay_signal(held_sig);
	write_state("adopted", "ok");
	if (o->log)
		pump(out[0], log);
	int last = reap(0);
	/* --here: the caller waits for us as for the program itself, so end as it ended. */
	if (o->here)
		return WIFEXITED(last) ? WEXITSTATUS(last) : 128 + WTERMSIG(last);
	return 0;
}

/*
 * guard: thaws frozen cgroups if ckpt dies while it holds a stack frozen.  ckpt writes lines on
 * our stdin: "cgroup DIR" (frozen or about to be), "pid N" (a criu it started), "nft TABLE [NETNS]" (the
 * bridge-family table that holds the stack's traffic during the dumps), "done".  EOF
 * without "done" means ckpt died: thaw at once, wait for every criu it started and for every
 * tracer of the cgroups' tasks (a criu whose "pid" line ckpt died before writing; a criu that
 * seized a frozen cgroup puts it back to FROZEN when it ends), then thaw again and let the
 * stack's traffic through.
 */
static void thaw(const char *dir)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/freezer.state", dir);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (write(fd, "THAWED\n", 7) < 0)
		logmsg("thaw %s: %s", dir, strerror(errno));
	close(fd);
}

/* Alive and not a zombie: a CRIU that has ended but is not reaped yet (this machine's PID 1
 * reaps slowly) must not hold the thaw back. */
static int running(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *close = strrchr(buf, ')');
	return close && close[1] == ' ' && close[2] != 'Z' && close[2] != 'X';
}

/* The tracers (CRIUs) of the tasks in a cgroup: a CRIU that seized the cgroup's tasks is their
 * tracer.  It may be one ckpt never named to us: ckpt can die between starting a CRIU and the
 * write of its "pid" line. */
static int tracers(const char *dir, pid_t *out, int max)
{
	char path[4200], line[64];
	int n = 0;
	snprintf(path, sizeof(path), "%s/tasks", dir);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	while (n < max && fgets(line, sizeof(line), f)) {
		char status[64], buf[256];
		snprintf(status, sizeof(status), "/proc/%d/status", atoi(line));
		FILE *s = fopen(status, "re");
		if (!s)
			continue;
		while (fgets(buf, sizeof(buf), s)) {
			if (strncmp(buf, "TracerPid:", 10))
				continue;
			pid_t t = (pid_t)atoi(buf + 10);
			int seen = 0;
			for (int i = 0; i < n; i++)
				seen |= out[i] == t;
			if (t > 0 && !seen)
				out[n++] = t;
			break;
		}
		fclose(s);
	}
	fclose(f);
	return n;
}

static void wait_gone(pid_t pid)
{
	for (int tries = 0; tries < 6000 && running(pid); tries++)
		usleep(10000);
}

/* nft delete table bridge NAME, waited for; "NAME NETNS" deletes it inside that namespace */
static void nft_delete(const char *line)
{
	char table[4200];
	snprintf(table, sizeof(table), "%s", line);
	char *ns = strchr(table, ' ');
	if (ns)
		*ns++ = '\0';
	pid_t pid = fork();
	if (pid == 0) {
		if (ns) {
			int fd = open(ns, O_RDONLY | O_CLOEXEC);
			/* the namespace is gone with its holder: so is the table */
			if (fd < 0 || setns(fd, CLONE_NEWNET))
				_exit(0);
		}
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null >= 0) {
			dup2(null, 1);
			dup2(null, 2);
		}
		execlp("nft", "nft", "delete", "table", "bridge", table, (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

static int cmd_guard(void)
{
	char line[4200];
	char *cgroups[1024], *tables[64];
	pid_t pids[1024];
	int ncg = 0, npid = 0, ntab = 0, done = 0;
	FILE *in = fdopen(0, "r");

	if (!in)
		die("fdopen stdin");
	while (fgets(line, sizeof(line), in)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, "cgroup ", 7) && ncg < 1024)
			cgroups[ncg++] = strdup(line + 7);
		else if (!strncmp(line, "pid ", 4) && npid < 1024)
			pids[npid++] = (pid_t)atoi(line + 4);
		else if (!strncmp(line, "nft ", 4) && ntab < 64)
			tables[ntab++] = strdup(line + 4);
		else if (!strcmp(line, "done"))
			done = 1;
	}
	if (done)
		return 0;
	for (int i = 0; i < ncg; i++)
		thaw(cgroups[i]);
	for (int i = 0; i < npid; i++)
		wait_gone(pids[i]);
	/* CRIUs ckpt could not name before it died: whoever still traces a task of the stack */
	for (int round = 0; round < 10; round++) {
		pid_t t[256];
		int nt = 0;
		for (int i = 0; i < ncg && nt < 256; i++)
			nt += tracers(cgroups[i], t + nt, 256 - nt);
		if (nt == 0)
			break;
		for (int i = 0; i < nt; i++)
			wait_gone(t[i]);
	}
	for (int i = 0; i < ncg; i++)
		thaw(cgroups[i]);
	for (int i = 0; i < ntab; i++)
		nft_delete(tables[i]);
	fprintf(stderr, "ckpt-shim guard: ckpt went away mid-checkpoint; thawed %d cgroup(s)\n", ncg);
	return 0;
}

/*
 * netns: holds a stack's network namespace (like a pod's infra container) and publishes its
 * ports. Listening sockets are made in the host's namespace first; then we move into a fresh
 * one, and each accepted connection is relayed by a child to 127.0.0.1:TARGET inside it.
 * Services join with `run --netns /proc/<our pid>/ns/net`. Writes netns.pid and ports
 * ("HOSTIP:HOSTPORT:TARGET" per line, with the port the kernel chose for HOSTPORT 0).
 */
static void relay(int a, int b)
{
	struct pollfd p[2] = { { .fd = a, .events = POLLIN }, { .fd = b, .events = POLLIN } };
	char buf[65536];
	int open_dirs = 2;
	while (open_dirs > 0) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		for (int i = 0; i < 2; i++) {
			if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			int from = p[i].fd, to = i == 0 ? b : a;
			ssize_t n = read(from, buf, sizeof(buf));
			if (n <= 0) {
				shutdown(to, SHUT_WR);
				p[i].fd = -1;
				open_dirs--;
				continue;
			}
			if (write_all(to, buf, n) < 0)
				return;
		}
	}
}

static void stop_netns(int sig)
{
	(void)sig;
	/* our relay children share our process group */
	signal(SIGTERM, SIG_IGN);
	kill(0, SIGTERM);
	_exit(0);
}

static int cmd_netns(struct run_opts *o)
{
	int lfd[64];
	int target[64];
	in_addr_t target_ip[64];
	char ports[8192] = "";

	become_shim(0);
	for (int i = 0; i < o->npublish; i++) {
		char spec[256], *ip = spec, *hp, *tp;
		struct sockaddr_in sa = { .sin_family = AF_INET };
		socklen_t len = sizeof(sa);
		int one = 1;

		snprintf(spec, sizeof(spec), "%s", o->publish[i]);
		hp = strchr(spec, ':');
		tp = hp ? strchr(hp + 1, ':') : NULL;
		if (!hp || !tp) {
			logmsg("fatal: bad --publish %s (want HOSTIP:HOSTPORT:[TARGETIP:]TARGET)", o->publish[i]);
			return 64;
		}
		*hp++ = '\0';
		*tp++ = '\0';
		/* a target address: a service on one of the stack's bridges; else loopback */
		char *tport = strchr(tp, ':');
		target_ip[i] = htonl(INADDR_LOOPBACK);
		if (tport) {
			*tport++ = '\0';
			struct in_addr ta;
			if (inet_pton(AF_INET, tp, &ta) != 1) {
				logmsg("fatal: bad target address in --publish %s", o->publish[i]);
				return 64;
			}
			target_ip[i] = ta.s_addr;
			tp = tport;
		}
		if (inet_pton(AF_INET, *ip ? ip : "0.0.0.0", &sa.sin_addr) != 1) {
			logmsg("fatal: bad address in --publish %s", o->publish[i]);
			return 64;
		}
		sa.sin_port = htons((uint16_t)atoi(hp));
		target[i] = atoi(tp);
		lfd[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (lfd[i] < 0 || setsockopt(lfd[i], SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
		    bind(lfd[i], (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd[i], 128)) {
			logmsg("fatal: cannot publish %s: %s", o->publish[i], strerror(errno));
			write_state("netns-failed", "cannot publish %s: %s", o->publish[i], strerror(errno));
			return 1;
		}
		getsockname(lfd[i], (struct sockaddr *)&sa, &len);
		snprintf(ports + strlen(ports), sizeof(ports) - strlen(ports), "%s%s:%d:%d", *ports ? "\n" : "",
			 *ip ? ip : "0.0.0.0", ntohs(sa.sin_port), target[i]);
	}
	if (unshare(CLONE_NEWNET))
		die("unshare network namespace");
	bring_up_loopback();
	/* A hub of compose networks meets services only on the networks they share: no routing
	 * between its bridges, whatever the host's default (devconf_inherit_init_net) gives. */
	int fwd = open("/proc/sys/net/ipv4/ip_forward", O_WRONLY | O_CLOEXEC);
	if (fwd < 0 || write(fwd, "0\n", 2) != 2)
		die("turn forwarding off in the new network namespace");
	close(fwd);

	struct sigaction ign = { .sa_handler = SIG_IGN, .sa_flags = SA_NOCLDWAIT };
	sigemptyset(&ign.sa_mask);
	sigaction(SIGCHLD, &ign, NULL);
	signal(SIGTERM, stop_netns);
	signal(SIGINT, stop_netns);
	write_state("ports", "%s", ports);
	write_state("netns.pid", "%d", getpid());

	struct pollfd p[64];
	for (int i = 0; i < o->npublish; i++)
		p[i] = (struct pollfd){ .fd = lfd[i], .events = POLLIN };
	for (;;) {
		if (o->npublish == 0) {
			pause();
			continue;
		}
		if (poll(p, o->npublish, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll");
		}
		for (int i = 0; i < o->npublish; i++) {
			if (!(p[i].revents & POLLIN))
				continue;
			int c = accept4(lfd[i], NULL, NULL, SOCK_CLOEXEC);
			if (c < 0)
				continue;
			pid_t pid = fork();
			if (pid == 0) {
				struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons((uint16_t)target[i]) };
				to.sin_addr.s_addr = target_ip[i];
				int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
				if (s < 0 || connect(s, (struct sockaddr *)&to, sizeof(to)))
					_exit(1);
				relay(c, s);
				_exit(0);
			}
			close(c);
		}
	}
}

static void usage(void)
{
	fprintf(stderr,
		"usage: ckpt-shim run --state DIR --log FILE [--cgroup DIR] [--net private]\n"
		"                 [--hostname NAME] [--hosts FILE] [--resolv FILE] [--workdir DIR] [--user USER[:GROUP]] [--pid host]\n"
		"                 [--bind[-ro] SRC DST] [--tmpfs[-ro] DST OPTIONS]...\n"
		"                 [--restart no|always|unless-stopped|on-failure[:N]] -- ARGV...\n"
		"       ckpt-shim adopt --state DIR [--cgroup DIR] [--log FILE] [--stdio pipe|here] -- ARGV...\n"
		"       ckpt-shim netns --state DIR [--publish HOSTIP:HOSTPORT:[TARGETIP:]TARGET]...\n"
		"       ckpt-shim guard   (reads cgroup/pid/done lines on stdin)\n");
	exit(64);
}

int main(int argc, char **argv)
{
	struct run_opts o = { 0 };
	int i;

	if (argc < 2)
		usage();
	ssize_t len = readlink("/proc/self/exe", self_path, sizeof(self_path) - 1);
	if (len < 0)
		die("readlink /proc/self/exe");
	self_path[len] = '\0';
	const char *mode = argv[1];
	for (i = 2; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (!v)
			usage();
		if (!strcmp(a, "--bind") || !strcmp(a, "--bind-ro") || !strcmp(a, "--tmpfs") || !strcmp(a, "--tmpfs-ro")) {
			if (i + 2 >= argc || o.nmounts >= 64)
				usage();
			int k = !strcmp(a, "--tmpfs") ? MOUNT_TMPFS : !strcmp(a, "--tmpfs-ro") ? MOUNT_TMPFS_RO : !strcmp(a, "--bind-ro") ? MOUNT_BIND_RO : MOUNT_BIND;
			o.mounts[o.nmounts].kind = k;
			if (k >= MOUNT_TMPFS) {
				o.mounts[o.nmounts].dst = v;
				o.mounts[o.nmounts].opts = argv[i + 2];
			} else {
				o.mounts[o.nmounts].src = v;
				o.mounts[o.nmounts].dst = argv[i + 2];
			}
			o.nmounts++;
			i += 2;
			continue;
		}
		if (!strcmp(a, "--state"))
			state_dir = v;
		else if (!strcmp(a, "--log"))
			o.log = v;
		else if (!strcmp(a, "--net"))
			o.private_net = !strcmp(v, "private");
		else if (!strcmp(a, "--hostname"))
			o.hostname = v;
		else if (!strcmp(a, "--hosts"))
			o.hosts = v;
		else if (!strcmp(a, "--resolv"))
			o.resolv = v;
		else if (!strcmp(a, "--workdir"))
			o.workdir = v;
		else if (!strcmp(a, "--user"))
			o.user = v;
		else if (!strcmp(a, "--restart"))
			o.restart = strcmp(v, "no") ? v : NULL;
		else if (!strcmp(a, "--cgroup"))
			o.cgroup = v;
		else if (!strcmp(a, "--netns"))
			o.netns = v;
		else if (!strcmp(a, "--pid"))
			o.host_pid = !strcmp(v, "host");
		else if (!strcmp(a, "--stdio")) {
			o.stdio_pipe = !strcmp(v, "pipe");
			o.here = !strcmp(v, "here");
		} else if (!strcmp(a, "--ready-fd"))
			o.ready_fd = atoi(v);
		else if (!strcmp(a, "--publish") && o.npublish < 64)
			o.publish[o.npublish++] = v;
		else
			usage();
		i++;
	}
	if (!strcmp(mode, "guard"))
		return cmd_guard();
	if (!strcmp(mode, "netns")) {
		if (!state_dir)
			usage();
		return cmd_netns(&o);
	}
	if (!state_dir || i >= argc)
		usage();
	o.argv = &argv[i];

	if (!strcmp(mode, "run")) {
		if (!o.log)
			usage();
		return cmd_run(&o);
	}
	if (!strcmp(mode, "adopt"))
		return cmd_adopt(&o);
	if (!strcmp(mode, "guard"))
		return cmd_guard();
	if (!strcmp(mode, "init"))
		return cmd_init(&o);
	usage();
	return 64;
}
