/*
 * The local driver's process sandbox, in the manner of bubblewrap and
 * nsjail: a program runs in new user, mount, PID, network, IPC, UTS and
 * cgroup namespaces, in its own cgroup, under a root of our making.
 *
 *	host		clone3(2) the init of the sandbox; map its uid 0 to
 *			spec->uid (setgroups denied); make the cgroup and put
 *			the init in it; then let it go, and read back either
 *			an error or, once the program is executed, nothing.
 *	init (pid 1)	first wipe every secret of the node it was copied
 *			with (audit_secrets_wipe: the node's key, its
 *			keyrings' HMAC keys), so that no process of the pod
 *			ever holds one; enter a new cgroup namespace; build
 *			the root on a
 *			tmpfs: read-only binds of the host paths asked for,
 *			/proc of the new PID namespace, a /dev of null, zero,
 *			full, random and urandom, /work and /tmp on one
 *			tmpfs of scratch_mib (and an inode for each
 *			SCRATCH_INODE_BYTES of it), /var/lib/nucleus on its
 *			own;
 *			pivot_root into it, drop the old root, make the root
 *			read-only; bring up lo, the only interface there is;
 *			fork the program and reap every process until it ends.
 *	program		a session of its own, the descriptors passed as 3...,
 *			every capability dropped (bounding set, ambient,
 *			securebits locked so that uid 0 gains none at exec;
 *			but CAP_SYS_ADMIN with keep_admin, see drop_caps),
 *			no_new_privs, then execve.
 *
 * Every step that fails stops the start and says which: nothing runs
 * half-confined.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
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
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/capability.h>
#include <linux/sched.h>
#include <linux/securebits.h>

#include "node.h"
#include "reap.h"

#define ROOT		"/tmp"		/* where the new root is mounted */
#define OLD		"/.old"		/* the host's root, while building */
#define ERRMSG_MAX	256
#define STATE_MIB	"64"		/* the proxy's state, apart from
					   the scratch */
#define SANDBOX_OOM_SCORE_ADJ "-999"	/* the init's and the proxy's */

struct child {
	const struct sandbox_spec *spec;
	int	 go[2];		/* host -> init: the maps and cgroup are set */
	int	 errp[2];	/* init, program -> host: why it failed */
};

/* In the sandbox: say what failed, and end. */
static void __attribute__((noreturn, format(printf, 2, 3)))
fail(int fd, const char *fmt, ...)
{
	char msg[ERRMSG_MAX];
	va_list ap;
	int e = errno, n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(msg)) {
		/* ": reason", cut at the buffer's end: words for a person. */
		const char *sep = ": ", *why = strerror(e);
		size_t at = (size_t)n;

		while (*sep != '\0' && at + 1 < sizeof(msg))
			msg[at++] = *sep++;
		while (*why != '\0' && at + 1 < sizeof(msg))
			msg[at++] = *why++;
		msg[at] = '\0';
	}
	(void)!write(fd, msg, strlen(msg));
	_exit(127);
}

static int
mkdir_p(const char *path, mode_t mode)
{
	char buf[4096];
	size_t n = strlen(path);

	if (n >= sizeof(buf))
		return errno = ENAMETOOLONG, -1;
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(buf, mode) != 0 && errno != EEXIST ? -1 : 0;
}

/* The flags of the mount holding path that a remount must keep. */
static unsigned long
locked_flags(const char *path)
{
	struct statvfs st;
	unsigned long f = 0;

	if (statvfs(path, &st) != 0)
		return 0;
	if (st.f_flag & ST_NOSUID)
		f |= MS_NOSUID;
	if (st.f_flag & ST_NODEV)
		f |= MS_NODEV;
	if (st.f_flag & ST_NOEXEC)
		f |= MS_NOEXEC;
	if (st.f_flag & ST_NOATIME)
		f |= MS_NOATIME;
	if (st.f_flag & ST_NODIRATIME)
		f |= MS_NODIRATIME;
	if (st.f_flag & ST_RELATIME)
		f |= MS_RELATIME;
	return f;
}

/*
 * Host path at the same place under the new root, read-only: a link as
 * the same link (Debian's /bin is one), a directory or a file by a bind.
 */
static void
bind_ro(int efd, const char *path)
{
	char source[4096], target[4096], link[4096];
	struct stat st;
	ssize_t n;

	snprintf(source, sizeof(source), OLD "%s", path);
	snprintf(target, sizeof(target), "%s", path);
	if (lstat(source, &st) != 0)
		fail(efd, "bind %s", path);
	if (S_ISLNK(st.st_mode)) {
		if ((n = readlink(source, link, sizeof(link) - 1)) < 0)
			fail(efd, "readlink %s", path);
		link[n] = '\0';
		if (symlink(link, target) != 0 && errno != EEXIST)
			fail(efd, "symlink %s", target);
		return;
	}
	if (S_ISDIR(st.st_mode)) {
		if (mkdir_p(target, 0755) != 0)
			fail(efd, "mkdir %s", target);
	} else {
		char *slash;
		int fd;

		memcpy(link, target, sizeof(link));
		if ((slash = strrchr(link, '/')) != NULL) {
			*slash = '\0';
			if (mkdir_p(link, 0755) != 0)
				fail(efd, "mkdir %s", link);
		}
		if ((fd = open(target, O_WRONLY | O_CREAT | O_CLOEXEC,
		    0644)) < 0)
			fail(efd, "create %s", target);
		close(fd);
	}
	if (mount(source, target, NULL, MS_BIND | MS_REC, NULL) != 0)
		fail(efd, "bind %s", path);
	if (mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY |
	    MS_NOSUID | MS_NODEV | locked_flags(source), NULL) != 0)
		fail(efd, "read-only %s", path);
}

/* The program to run, from wherever it is on the host. */
static void
bind_exe(int efd, const char *exe)
{
	const char *name = strrchr(exe, '/') != NULL ? strrchr(exe, '/') + 1 :
	    exe;
	char source[4096], target[4096];
	int fd;

	snprintf(source, sizeof(source), OLD "%s", exe);
	snprintf(target, sizeof(target), SANDBOX_EXE_DIR "/%s", name);
	if (mkdir_p(SANDBOX_EXE_DIR, 0755) != 0 ||
	    (fd = open(target, O_WRONLY | O_CREAT | O_CLOEXEC, 0755)) < 0)
		fail(efd, "create %s", target);
	close(fd);
	if (mount(source, target, NULL, MS_BIND, NULL) != 0 ||
	    mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY |
	    MS_NOSUID | MS_NODEV | locked_flags(source), NULL) != 0)
		fail(efd, "bind %s", exe);
}

static void
scratch(int efd, const struct limits *lim)
{
	static const struct {
		const char *src, *dst;
		mode_t mode;
	} places[] = {
		{ "/.scratch/work", "/work", 0755 },
		{ "/.scratch/tmp", "/tmp", 01777 },
	};
	char opts[96];

	/*
	 * Inodes too, in proportion: each costs the pod's memory (kernel
	 * memory, not the scratch's bytes), so empty files alone must not
	 * fill the memory limit.
	 */
	snprintf(opts, sizeof(opts), "size=%llum,nr_inodes=%llu,mode=0755",
	    (unsigned long long)lim->scratch_mib, (unsigned long long)
	    lim->scratch_mib * ((1 << 20) / SCRATCH_INODE_BYTES));
	if (mkdir("/.scratch", 0755) != 0 ||
	    mount("scratch", "/.scratch", "tmpfs", MS_NOSUID | MS_NODEV,
	    opts) != 0)
		fail(efd, "scratch tmpfs of %llu MiB", (unsigned long
		    long)lim->scratch_mib);
	for (size_t i = 0; i < sizeof(places) / sizeof(places[0]); i++) {
		if (mkdir(places[i].src, places[i].mode) != 0 ||
		    chmod(places[i].src, places[i].mode) != 0 ||
		    mkdir_p(places[i].dst, 0755) != 0 ||
		    mount(places[i].src, places[i].dst, NULL, MS_BIND,
		    NULL) != 0)
			fail(efd, "scratch %s", places[i].dst);
	}
	if (umount2("/.scratch", MNT_DETACH) != 0 ||
	    rmdir("/.scratch") != 0)
		fail(efd, "scratch");
}

/*
 * The proxy's state and audit log, on a tmpfs of their own: were they on
 * the scratch, a command or a write that fills it would leave no room
 * for the log, and a log that cannot be written stops the pod for good.
 */
static void
state(int efd)
{
	if (mkdir_p("/var/lib/nucleus", 0755) != 0 ||
	    mount("state", "/var/lib/nucleus", "tmpfs", MS_NOSUID | MS_NODEV |
	    MS_NOEXEC, "size=" STATE_MIB "m,mode=0700") != 0)
		fail(efd, "/var/lib/nucleus");
}

static void
devices(int efd)
{
	static const char *const nodes[] = { "null", "zero", "full", "random",
	    "urandom" };
	char src[64], dst[64];

	if (mkdir("/dev", 0755) != 0 ||
	    mount("dev", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC,
	    "size=64k,mode=0755") != 0)
		fail(efd, "/dev");
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		int fd;

		snprintf(src, sizeof(src), OLD "/dev/%s", nodes[i]);
		snprintf(dst, sizeof(dst), "/dev/%s", nodes[i]);
		if ((fd = open(dst, O_WRONLY | O_CREAT | O_CLOEXEC, 0666)) < 0)
			fail(efd, "create %s", dst);
		close(fd);
		if (mount(src, dst, NULL, MS_BIND, NULL) != 0)
			fail(efd, "bind %s", src);
	}
	if (symlink("/proc/self/fd", "/dev/fd") != 0)
		fail(efd, "/dev/fd");
	if (mount(NULL, "/dev", NULL, MS_REMOUNT | MS_RDONLY |
	    MS_NOSUID | MS_NOEXEC, "size=64k,mode=0755") != 0)
		fail(efd, "read-only /dev");
}

/*
 * The root: a tmpfs mounted at ROOT and pivoted into at once, so that
 * the host's tree is at OLD while the new one is built (a source under
 * ROOT is not hidden by it); then OLD is dropped and the root made
 * read-only.
 */
static void
build_root(int efd, const struct sandbox_spec *spec)
{
	char source[4096];

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		fail(efd, "make the mounts private");
	if (mount("root", ROOT, "tmpfs", MS_NOSUID | MS_NODEV,
	    "size=1m,mode=0755") != 0)
		fail(efd, "root tmpfs");
	if (mkdir(ROOT OLD, 0700) != 0 ||
	    syscall(SYS_pivot_root, ROOT, ROOT OLD) != 0 || chdir("/") != 0)
		fail(efd, "pivot_root");
	for (size_t i = 0; spec->binds[i] != NULL; i++)
		bind_ro(efd, spec->binds[i]);
	if (spec->exe != NULL)
		bind_exe(efd, spec->exe);
	if (spec->conf != NULL) {
		snprintf(source, sizeof(source), OLD "%s", spec->conf);
		if (mkdir_p("/etc/nucleus", 0755) != 0 ||
		    mount(source, "/etc/nucleus", NULL, MS_BIND, NULL) != 0 ||
		    mount(NULL, "/etc/nucleus", NULL, MS_REMOUNT | MS_BIND |
		    MS_RDONLY | MS_NOSUID | MS_NODEV | locked_flags(source),
		    NULL) != 0)
			fail(efd, "bind %s at /etc/nucleus", spec->conf);
	}
	scratch(efd, &spec->lim);
	state(efd);
	devices(efd);
	if (mkdir("/proc", 0555) != 0 ||
	    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
	    NULL) != 0)
		fail(efd, "/proc");
	if (umount2(OLD, MNT_DETACH) != 0 || rmdir(OLD) != 0)
		fail(efd, "drop the old root");
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID |
	    MS_NODEV, "size=1m,mode=0755") != 0)
		fail(efd, "read-only root");
}

static void
loopback_up(int efd)
{
	struct ifreq ifr;
	int s;

	if ((s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		fail(efd, "socket for lo");
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) != 0)
		fail(efd, "lo");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) != 0)
		fail(efd, "bring up lo");
	close(s);
}

/*
 * The program's environment: none of the node's (its own settings, an
 * operator's shell variables) goes into a pod; only a search path, and
 * the sanitizer runtimes' options of a sanitizer build.
 */
static char **
sandbox_env(void)
{
	static const char *const pass[] = { "ASAN_OPTIONS=", "UBSAN_OPTIONS=",
	    "LSAN_OPTIONS=", NULL };
	static char *env[8];
	size_t n = 0;

	env[n++] = "PATH=/usr/bin:/bin";
	for (char **e = environ; *e != NULL && n + 1 < 8; e++)
		for (size_t i = 0; pass[i] != NULL; i++)
			if (strncmp(*e, pass[i], strlen(pass[i])) == 0)
				env[n++] = *e;
	env[n] = NULL;
	return env;
}

/*
 * Every capability gone, for good: uid 0 inside gains none at exec.  But
 * with keep_admin, CAP_SYS_ADMIN of the pod's user namespace stays, as
 * an ambient capability through the exec and in the bounding set, for
 * the proxy's spawner to give each command a PID namespace of its own
 * (proxy/spawn.c): the proxy drops it from itself once the spawner is
 * forked, and nothing the spawner runs keeps it.
 */
static void
drop_caps(int efd, int keep_admin)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	const uint32_t admin = 1U << CAP_SYS_ADMIN;	/* in d[0] */
	FILE *f;
	int last = 40;

	if ((f = fopen("/proc/sys/kernel/cap_last_cap", "re")) != NULL) {
		if (fscanf(f, "%d", &last) != 1)
			last = 40;
		fclose(f);
	}
	for (int cap = 0; cap <= last; cap++)
		if ((!keep_admin || cap != CAP_SYS_ADMIN) &&
		    prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 &&
		    errno != EINVAL)
			fail(efd, "drop capability %d", cap);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0)
		fail(efd, "clear ambient capabilities");
	/* Ambient needs it inheritable first, and before the lock below. */
	if (keep_admin) {
		if (syscall(SYS_capget, &h, d) != 0)
			fail(efd, "capabilities");
		d[0].inheritable |= admin;
		if (syscall(SYS_capset, &h, d) != 0 ||
		    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_SYS_ADMIN,
		    0, 0) != 0)
			fail(efd, "keep CAP_SYS_ADMIN for the commands' "
			    "namespaces");
	}
	if (prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED |
	    SECBIT_NO_SETUID_FIXUP | SECBIT_NO_SETUID_FIXUP_LOCKED |
	    SECBIT_KEEP_CAPS_LOCKED | SECBIT_NO_CAP_AMBIENT_RAISE |
	    SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED, 0, 0, 0) != 0)
		fail(efd, "securebits");
	memset(d, 0, sizeof(d));
	if (keep_admin)
		d[0].effective = d[0].permitted = d[0].inheritable = admin;
	if (syscall(SYS_capset, &h, d) != 0)
		fail(efd, "drop capabilities");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		fail(efd, "no_new_privs");
}

/*
 * The standard descriptors (when asked) and then the passed ones as 3,
 * 4, ...; every other one is closed.
 */
static void
arrange_fds(int efd, const struct sandbox_spec *spec)
{
	int n = 0, moved[SANDBOX_FDS_MAX], io[3];

	/* Out of the way first, so that no dup2 clobbers a later one. */
	for (; n < SANDBOX_FDS_MAX && spec->fds[n] >= 0; n++)
		if ((moved[n] = fcntl(spec->fds[n], F_DUPFD_CLOEXEC, 64)) < 0)
			fail(efd, "descriptor %d", spec->fds[n]);
	for (int i = 0; spec->set_stdio && i < 3; i++)
		if ((io[i] = fcntl(spec->stdio[i], F_DUPFD_CLOEXEC, 64)) < 0)
			fail(efd, "descriptor %d", spec->stdio[i]);
	for (int i = 0; spec->set_stdio && i < 3; i++)
		if (dup2(io[i], i) != i)
			fail(efd, "standard descriptor %d", i);
	for (int i = 0; i < n; i++)
		if (dup2(moved[i], 3 + i) != 3 + i)
			fail(efd, "descriptor %d", spec->fds[i]);
	if (syscall(SYS_close_range, 3 + n, ~0U, CLOSE_RANGE_CLOEXEC) != 0)
		fail(efd, "close descriptors");
}

static int
by_value(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/*
 * The init was copied from the host process with every descriptor it
 * had: keep only the standard ones, the error pipe and what the program
 * is given, so that a peer's end closes when the program's does.
 */
static void
keep_only(const struct child *c)
{
	const struct sandbox_spec *spec = c->spec;
	int keep[3 + SANDBOX_FDS_MAX + 3 + 1], n = 0, next = 0;

	keep[n++] = 0;
	keep[n++] = 1;
	keep[n++] = 2;
	keep[n++] = c->errp[1];
	for (int i = 0; i < SANDBOX_FDS_MAX && spec->fds[i] >= 0; i++)
		keep[n++] = spec->fds[i];
	for (int i = 0; spec->set_stdio && i < 3; i++)
		keep[n++] = spec->stdio[i];
	qsort(keep, (size_t)n, sizeof(keep[0]), by_value);
	for (int i = 0; i < n; i++) {
		if (keep[i] > next)
			(void)syscall(SYS_close_range, (unsigned)next,
			    (unsigned)keep[i] - 1, 0);
		next = keep[i] + 1;
	}
	(void)syscall(SYS_close_range, (unsigned)next, ~0U, 0);
}

/*
 * The sandbox ends with the host process that made it until that host
 * has stored it (podstate.c) and says so (sandbox_detach): a node killed
 * while a pod starts leaves nothing the next node does not know of.
 * From then on the sandbox outlives the node, whose next start takes it
 * back.  Set once the credentials have changed (a change clears it); a
 * host already gone by then has closed its end of the error pipe, which
 * poll sees.
 */
static void
detached(int sig)
{
	(void)sig;
	(void)prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
}

static void
parent_death(int efd)
{
	struct pollfd p = { efd, 0, 0 };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = detached;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SANDBOX_DETACH_SIGNAL, &sa, NULL) != 0 ||
	    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
		fail(efd, "parent death signal");
	if (poll(&p, 1, 0) != 0)
		_exit(127);
}

static int __attribute__((noreturn))
init_main(struct child *c)
{
	const struct sandbox_spec *spec = c->spec;
	int efd = c->errp[1], status;
	pid_t prog;
	char go;

	/* A copy of the node: nothing of its secrets goes further. */
	audit_secrets_wipe();
	close(c->go[1]);
	close(c->errp[0]);
	if (read(c->go[0], &go, 1) != 1 || go != 'g')
		_exit(127);	/* the host gave up */
	close(c->go[0]);
	keep_only(c);
	/* Become the uid and gid the host mapped: 0 inside, spec's outside. */
	if (setresgid(0, 0, 0) != 0 || setresuid(0, 0, 0) != 0)
		fail(efd, "become uid 0 of the user namespace");
	parent_death(efd);
	if (unshare(CLONE_NEWCGROUP) != 0)
		fail(efd, "cgroup namespace");
	if (sethostname(spec->name, strlen(spec->name)) != 0)
		fail(efd, "hostname");
	build_root(efd, spec);
	loopback_up(efd);
	if ((prog = fork()) < 0)
		fail(efd, "fork");
	if (prog == 0) {
		if (setsid() < 0)
			fail(efd, "setsid");
		arrange_fds(efd, spec);
		drop_caps(efd, spec->keep_admin);
		execve(spec->argv[0], spec->argv, sandbox_env());
		fail(efd, "exec %s", spec->argv[0]);
	}
	/* The init: holds nothing of the program's, reaps every orphan. */
	(void)syscall(SYS_close_range, 0U, ~0U, 0);
	if (reap_until(prog, &status) != 0)
		_exit(127);
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

static int
write_proc(pid_t pid, const char *file, const char *text,
    struct audit_err *err)
{
	char path[64];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0)
		return audit_errf(err, "sandbox: %s: %s", path,
		    strerror(errno));
	n = write(fd, text, strlen(text));
	close(fd);
	if (n < 0 || (size_t)n != strlen(text))
		return audit_errf(err, "sandbox: %s: %s", path, n < 0 ?
		    strerror(errno) : "short write");
	return 0;
}

/* Map the init's uid and gid 0 to spec's; setgroups denied. */
static int
map_ids(pid_t pid, const struct sandbox_spec *spec, struct audit_err *err)
{
	char map[64];

	if (audit_fit(map, sizeof(map), err, "0 %u 1\n",
	    (unsigned)spec->uid) != 0 ||
	    write_proc(pid, "setgroups", "deny", err) != 0 ||
	    write_proc(pid, "uid_map", map, err) != 0)
		return -1;
	if (audit_fit(map, sizeof(map), err, "0 %u 1\n",
	    (unsigned)spec->gid) != 0 ||
	    write_proc(pid, "gid_map", map, err) != 0)
		return -1;
	return 0;
}

/*
 * The init, like fork(2), on the same stack, into new namespaces; in
 * the child, it never returns.  Its pid, or -1.
 */
static pid_t
clone_init(struct child *c, int *pidfd, struct audit_err *err)
{
	struct clone_args ca;
	pid_t pid;

	memset(&ca, 0, sizeof(ca));
	ca.flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET |
	    CLONE_NEWIPC | CLONE_NEWUTS | CLONE_PIDFD;
	ca.pidfd = (uint64_t)(uintptr_t)pidfd;
	ca.exit_signal = SIGCHLD;
	pid = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid == 0)
		_exit(init_main(c));
	if (pid < 0)
		audit_errf(err, "sandbox: cannot make the namespaces: %s",
		    strerror(errno));
	return pid;
}

/*
 * The init, and the proxy it starts, are the last the memory limit
 * kills: every command raises its own score to 1000 (proxy/spawn.c), so
 * a command always goes first; the proxy stays killable (not -1000), so
 * that a pod out of memory ends, seen, rather than hangs.  Lowering a
 * score takes CAP_SYS_RESOURCE: a node without it leaves the score as it
 * is (the commands still go first).
 */
static int
oom_last(pid_t pid, struct audit_err *err)
{
	const char *v = SANDBOX_OOM_SCORE_ADJ;
	char path[64];
	int fd, e;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", (int)pid);
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0)
		return audit_errf(err, "sandbox: %s: %s", path,
		    strerror(errno));
	n = write(fd, v, strlen(v));
	e = errno;
	close(fd);
	if (n == (ssize_t)strlen(v) || (n < 0 && (e == EACCES || e == EPERM)))
		return 0;
	return audit_errf(err, "sandbox: %s: %s", path, n < 0 ? strerror(e) :
	    "short write");
}

/*
 * The init set up from the host (ids, cgroup) and let go; then nothing
 * back from it once its program was executed, else why not.
 */
static int
release_init(struct child *c, struct sandbox *sb, struct audit_err *err)
{
	const struct sandbox_spec *spec = c->spec;
	char msg[ERRMSG_MAX + 1];
	ssize_t n;

	if (map_ids(sb->pid, spec, err) != 0 ||
	    cgroup_create(&sb->cg, spec->cgroup != NULL ? spec->cgroup :
	    spec->name, &spec->lim, err) != 0 ||
	    cgroup_enter(&sb->cg, sb->pid, err) != 0 ||
	    oom_last(sb->pid, err) != 0)
		return -1;
	if (write(c->go[1], "g", 1) != 1)
		return audit_errf(err, "sandbox: the init is gone");
	close(c->go[1]);
	c->go[1] = -1;
	while ((n = read(c->errp[0], msg, sizeof(msg) - 1)) < 0 &&
	    errno == EINTR)
		;
	if (n > 0) {
		msg[n] = '\0';
		return audit_errf(err, "sandbox: %s", msg);
	}
	return 0;
}

/* Start spec's program in a new sandbox; sb holds its init. */
int
sandbox_start(const struct sandbox_spec *spec, struct sandbox *sb,
    struct audit_err *err)
{
	struct child c = { .spec = spec, .go = { -1, -1 },
	    .errp = { -1, -1 } };
	int pidfd = -1, rc = -1;
	pid_t pid;

	memset(sb, 0, sizeof(*sb));
	sb->pidfd = -1;
	if (pipe2(c.go, O_CLOEXEC) != 0 || pipe2(c.errp, O_CLOEXEC) != 0) {
		audit_errf(err, "sandbox: pipe: %s", strerror(errno));
		goto out;
	}
	if ((pid = clone_init(&c, &pidfd, err)) < 0)
		goto out;
	sb->pid = pid;
	sb->pidfd = pidfd;
	close(c.go[0]);
	close(c.errp[1]);
	c.go[0] = c.errp[1] = -1;
	if (release_init(&c, sb, err) != 0) {
		sandbox_kill(sb);
		(void)sandbox_release(sb, RELEASE_WAIT_MS);
		goto out;
	}
	rc = 0;
out:
	for (int i = 0; i < 2; i++) {
		if (c.go[i] >= 0)
			close(c.go[i]);
		if (c.errp[i] >= 0)
			close(c.errp[i]);
	}
	return rc;
}

/* Wait for the sandbox's end: its program's status (128+N: signal N). */
int
sandbox_wait(struct sandbox *sb, int *code)
{
	int status;

	if (sb->pid <= 0)
		return -1;
	if (sb->adopted) {
		/* Another's child: its pid may be anyone's by now. */
		sb->pid = 0;
		return -1;
	}
	while (waitpid(sb->pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	*code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 +
	    WTERMSIG(status);
	sb->pid = 0;
	return 0;
}

/* Stored by the node: from now on the sandbox outlives it. */
void
sandbox_detach(struct sandbox *sb)
{
	if (sb->pidfd >= 0)
		(void)syscall(SYS_pidfd_send_signal, sb->pidfd,
		    SANDBOX_DETACH_SIGNAL, NULL, 0);
}

/* Kill its init: the kernel then kills every process in the sandbox. */
void
sandbox_kill(struct sandbox *sb)
{
	sb->killed = 1;
	if (sb->pidfd >= 0)
		(void)syscall(SYS_pidfd_send_signal, sb->pidfd, SIGKILL, NULL,
		    0);
	else if (sb->pid > 0)
		(void)kill(sb->pid, SIGKILL);
}

/*
 * After it ended: reap it if no one has, and remove its cgroup, waiting
 * up to wait_ms for its last processes to leave it (the kernel ends the
 * rest of a PID namespace a moment after its init).  Returns how many
 * of the cgroup's directories are still there, for the caller to retry.
 */
int
sandbox_release(struct sandbox *sb, int wait_ms)
{
	int code, left;

	if (sb->pid > 0)
		(void)sandbox_wait(sb, &code);
	if (sb->pidfd >= 0)
		close(sb->pidfd);
	sb->pidfd = -1;
	for (int waited = 0; (left = cgroup_remove(&sb->cg)) > 0 &&
	    waited < wait_ms; waited += 10)
		usleep(10000);
	return left;
}
