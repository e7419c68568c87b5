/*
 * nucleus-node doctor: which pod drivers this host can run, and why not.
 *
 * One function per check.  A probe that could change the process (new
 * namespaces, a seccomp filter, a Landlock domain, a signal timer, a
 * virtual machine) runs in a child of its own, which says why it failed
 * on a pipe; a child that does not finish in PROBE_MS is killed, and so
 * is a program run to ask its version.  Nothing here waits without a
 * deadline.
 *
 *	local		namespaces, pidfd, cgroup, seccomp (Landlock is the
 *			proxy's, where the kernel has it)
 *	qemu		qemu-system-x86_64 with the microvm machine; KVM only
 *			when it runs a plain guest, else TCG; vhost-vsock when
 *			it opens, else virtio-serial
 *	firecracker	firecracker, and a KVM that runs a plain guest
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/kvm.h>
#include <linux/landlock.h>
#include <linux/sched.h>

#include <seccomp.h>

#include "node.h"

#define PROBE_MS	5000	/* for any child: a probe, a program */
#define TEXT_MAX	512	/* what one check says */
#define VERDICT_MAX	(2 * TEXT_MAX)	/* a driver's verdict: its checks' */
#define OUTPUT_MAX	65536	/* of a program's output, kept */

/*
 * The KVM probe: a real-mode guest counts a loop down, writes a byte to
 * a port and halts.  Run by the processor, the loop takes well under a
 * millisecond; a KVM that emulates a plain guest's instructions (one
 * built for PVM guests only) takes hundreds.
 */
#define KVM_API		12
#define KVM_GUEST_ADDR	0x1000
#define KVM_PAGE	0x1000
#define KVM_PORT	0x10
#define KVM_START	0x01
#define KVM_VALUE	0x42
#define KVM_LOOPS	(1U << 18)
#define KVM_LOOP_MS_MAX	25	/* of CPU time, for KVM_LOOPS */
#define KVM_RUN_MS	2000	/* then KVM_RUN is interrupted */

/* Debian 12's <linux/landlock.h> stops at ABI 2. */
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE	(1ULL << 14)	/* ABI 3 */
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV	(1ULL << 15)	/* ABI 5 */
#endif
#ifndef LANDLOCK_ACCESS_NET_BIND_TCP
#define LANDLOCK_ACCESS_NET_BIND_TCP	(1ULL << 0)	/* ABI 4 */
#define LANDLOCK_ACCESS_NET_CONNECT_TCP	(1ULL << 1)
#endif
#ifndef LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
#define LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)	/* ABI 6 */
#define LANDLOCK_SCOPE_SIGNAL		(1ULL << 1)
#endif
#define LL_FS_ABI1	((1ULL << 13) - 1)	/* execute ... make_sym */

/* The ruleset's attributes as ABI 6 has them. */
struct ll_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;	/* ABI 4 */
	uint64_t scoped;		/* ABI 6 */
};

enum {
	C_NAMESPACES, C_PIDFD, C_CGROUP, C_SECCOMP, C_LANDLOCK, C_KVM,
	C_VSOCK, C_QEMU, C_FIRECRACKER, C_COUNT
};

struct check {
	const char *name;
	void	(*run)(struct check *);
	int	 ok;
	char	 text[TEXT_MAX];	/* what was found, or why not */
	json_t	*facts;			/* more, for -j */
};

typedef int (*probe_fn)(const void *, char *, size_t);

/* Append to buf, cut at its size; -1, so that a probe can fail with it. */
static int __attribute__((format(printf, 3, 4)))
say(char *buf, size_t size, const char *fmt, ...)
{
	size_t len = strnlen(buf, size);
	va_list ap;

	if (len + 1 >= size)
		return -1;
	va_start(ap, fmt);
	(void)vsnprintf(buf + len, size - len, fmt, ap);
	va_end(ap);
	return -1;
}
#ifdef __clang_analyzer__
/* Always -1, for scan-build (see audit_errf() in audit.h). */
#define say(...)	(say(__VA_ARGS__), -1)
#endif

static int64_t
now_ms(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Only printable ASCII reaches the terminal: a version string is a
 * program's to choose. */
static void
printable(char *s)
{
	for (; *s != '\0'; s++)
		if (*s < 0x20 || *s > 0x7e)
			*s = '?';
}

/*
 * Read fd to its end, keeping up to cap - 1 bytes (the rest is read and
 * dropped) until deadline; *late when it passed.  Returns the bytes kept.
 */
static size_t
read_until(int fd, char *buf, size_t cap, int64_t deadline, int *late)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char sink[4096];
	size_t n = 0;
	ssize_t r;
	int64_t left;

	*late = 0;
	for (;;) {
		if ((left = deadline - now_ms(CLOCK_MONOTONIC)) <= 0) {
			*late = 1;
			break;
		}
		if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
			break;
		if (pfd.revents == 0)
			continue;
		if (n + 1 < cap)
			r = read(fd, buf + n, cap - 1 - n);
		else
			r = read(fd, sink, sizeof(sink));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (n + 1 < cap)
			n += (size_t)r;
	}
	buf[n] = '\0';
	return n;
}

/*
 * Reap pid, killed first when late (with its process group: what a
 * program started goes too); say how it ended unless it exited 0.
 */
static int
reap(pid_t pid, int late, const char *what, char *msg, size_t msgsz)
{
	int status;

	if (late) {
		(void)kill(-pid, SIGKILL);
		(void)kill(pid, SIGKILL);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return say(msg, msgsz, "%s: waitpid: %s", what,
			    strerror(errno));
	if (late)
		return say(msg, msgsz, "%s: did not finish in %d s", what,
		    PROBE_MS / 1000);
	if (WIFSIGNALED(status))
		return say(msg, msgsz, "%s: killed by signal %d (%s)", what,
		    WTERMSIG(status), strsignal(WTERMSIG(status)));
	if (WEXITSTATUS(status) != 0)
		return say(msg, msgsz, "%s: exit status %d", what,
		    WEXITSTATUS(status));
	return 0;
}

/*
 * Run fn in a child, where what it changes stays: 0 when it succeeds,
 * else -1 and why in msg.
 */
static int
probe(probe_fn fn, const void *arg, char *msg, size_t msgsz)
{
	char why[TEXT_MAX];
	int p[2], late;
	pid_t pid;

	msg[0] = '\0';
	if (pipe2(p, O_CLOEXEC) != 0)
		return say(msg, msgsz, "pipe: %s", strerror(errno));
	if ((pid = fork()) < 0) {
		close(p[0]);
		close(p[1]);
		return say(msg, msgsz, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		int rc;

		(void)setpgid(0, 0);
		close(p[0]);
		why[0] = '\0';
		rc = fn(arg, why, sizeof(why));
		(void)!write(p[1], why, strlen(why));
		_exit(rc == 0 ? 0 : 1);
	}
	close(p[1]);
	(void)read_until(p[0], why, sizeof(why), now_ms(CLOCK_MONOTONIC) +
	    PROBE_MS, &late);
	close(p[0]);
	if (reap(pid, late, "the probe", msg, msgsz) == 0)
		return 0;
	if (!late && why[0] != '\0') {
		msg[0] = '\0';
		say(msg, msgsz, "%s", why);
	}
	return -1;
}

/*
 * Run path with argv, standard output to out (its first OUTPUT_MAX - 1
 * bytes), nothing in, errors dropped: 0 when it exits 0.
 */
static int
run_program(const char *path, char *const argv[], char *out, size_t outsz,
    char *msg, size_t msgsz)
{
	int p[2], late, null;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) != 0)
		return say(msg, msgsz, "pipe: %s", strerror(errno));
	if ((pid = fork()) < 0) {
		close(p[0]);
		close(p[1]);
		return say(msg, msgsz, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		(void)setpgid(0, 0);
		if ((null = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0 ||
		    dup2(null, 0) != 0 || dup2(p[1], 1) != 1 ||
		    dup2(null, 2) != 2)
			_exit(127);
		execv(path, argv);
		_exit(127);
	}
	close(p[1]);
	(void)read_until(p[0], out, outsz, now_ms(CLOCK_MONOTONIC) +
	    PROBE_MS, &late);
	close(p[0]);
	return reap(pid, late, path, msg, msgsz);
}

/* The first executable regular file called name in a directory of PATH. */
static int
find_on_path(const char *name, char *path, size_t pathsz)
{
	const char *dirs = getenv("PATH"), *p, *end;
	struct stat st;
	size_t len;

	if (dirs == NULL)
		dirs = "/usr/local/bin:/usr/bin:/bin";
	for (p = dirs;; p = end + 1) {
		end = strchrnul(p, ':');
		len = (size_t)(end - p);
		/* An empty entry is the current directory. */
		if (len == 0) {
			p = ".";
			len = 1;
		}
		/* A name that does not fit is not looked for, never cut. */
		if (len + 1 + strlen(name) < pathsz &&
		    audit_fmt(path, pathsz, "%.*s/%s", (int)len, p, name) > 0 &&
		    stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
		    faccessat(AT_FDCWD, path, X_OK, AT_EACCESS) == 0)
			return 0;
		if (*end == '\0')
			break;
	}
	path[0] = '\0';
	return -1;
}

/* The first line a program prints when asked its version. */
static int
version_of(const char *path, char *line, size_t linesz, char *msg,
    size_t msgsz)
{
	char *const argv[] = { (char *)path, (char *)"--version", NULL };
	char out[TEXT_MAX];

	if (run_program(path, argv, out, sizeof(out), msg, msgsz) != 0)
		return -1;
	out[strcspn(out, "\n")] = '\0';
	if (out[0] == '\0')
		return say(msg, msgsz, "%s --version prints nothing", path);
	printable(out);
	audit_fmt(line, linesz, "%s", out);
	return 0;
}

static const struct ns {
	const char *name;
	int	 flag;
} namespaces[] = {
	{ "user", CLONE_NEWUSER }, { "mount", CLONE_NEWNS },
	{ "pid", CLONE_NEWPID }, { "net", CLONE_NEWNET },
	{ "ipc", CLONE_NEWIPC }, { "uts", CLONE_NEWUTS },
	{ "cgroup", CLONE_NEWCGROUP },
};

/* As the sandbox makes it: with a new user namespace, so needing no
 * privilege where the kernel lets users have one. */
static int
probe_unshare(const void *arg, char *msg, size_t msgsz)
{
	const struct ns *ns = arg;
	int status;
	pid_t pid;

	if (unshare(CLONE_NEWUSER | ns->flag) != 0)
		return say(msg, msgsz, "unshare: %s", strerror(errno));
	if (ns->flag != CLONE_NEWPID)
		return 0;
	/* The next child enters the PID namespace, as its pid 1. */
	if ((pid = fork()) < 0)
		return say(msg, msgsz, "fork: %s", strerror(errno));
	if (pid == 0)
		_exit(getpid() == 1 ? 0 : 1);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		return say(msg, msgsz, "its first process is not pid 1");
	return 0;
}

static void
check_namespaces(struct check *c)
{
	char ok[TEXT_MAX] = "", no[TEXT_MAX] = "", why[TEXT_MAX];

	for (size_t i = 0; i < sizeof(namespaces) / sizeof(namespaces[0]);
	    i++) {
		if (probe(probe_unshare, &namespaces[i], why,
		    sizeof(why)) == 0)
			say(ok, sizeof(ok), "%s%s", ok[0] ? " " : "",
			    namespaces[i].name);
		else
			say(no, sizeof(no), "%s%s: %s", no[0] ? "; " : "",
			    namespaces[i].name, why);
	}
	c->ok = no[0] == '\0';
	audit_fmt(c->text, sizeof(c->text), "%s", c->ok ? ok : no);
}

/* clone3(2) with CLONE_PIDFD and pidfd_open(2), as the sandbox uses. */
static int
probe_pidfd(const void *arg, char *msg, size_t msgsz)
{
	struct clone_args ca;
	int pidfd = -1, fd, status;
	pid_t pid;

	(void)arg;
	memset(&ca, 0, sizeof(ca));
	ca.flags = CLONE_PIDFD;
	ca.pidfd = (uint64_t)(uintptr_t)&pidfd;
	ca.exit_signal = SIGCHLD;
	pid = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid == 0)
		_exit(0);
	if (pid < 0)
		return say(msg, msgsz, "clone3: %s", strerror(errno));
	if (pidfd < 0)
		return say(msg, msgsz, "clone3 gave no pidfd");
	if (waitpid(pid, &status, 0) != pid)
		return say(msg, msgsz, "waitpid: %s", strerror(errno));
	close(pidfd);
	if ((fd = (int)syscall(SYS_pidfd_open, getpid(), 0)) < 0)
		return say(msg, msgsz, "pidfd_open: %s", strerror(errno));
	close(fd);
	return 0;
}

static void
check_pidfd(struct check *c)
{
	char why[TEXT_MAX];

	c->ok = probe(probe_pidfd, NULL, why, sizeof(why)) == 0;
	audit_fmt(c->text, sizeof(c->text), "%s", c->ok ?
	    "clone3 with CLONE_PIDFD, pidfd_open" : why);
}

/* A pod's cgroup is made where cgroup_create makes it: writable there? */
static void
check_cgroup(struct check *c)
{
	static const char *const v1[CG_V1_N] = { "/sys/fs/cgroup/memory",
	    "/sys/fs/cgroup/pids", "/sys/fs/cgroup/cpu" };
	struct cgroup_facts f;
	const char *dirs[CG_V1_N] = { NULL, NULL, NULL };
	char what[TEXT_MAX];

	cgroup_probe(&f);
	if (f.v2) {
		dirs[0] = f.v2_root;
		audit_fmt(what, sizeof(what), "v2 at %s (controllers: %s)",
		    f.v2_root, f.v2_controllers);
	} else if (f.v1) {
		memcpy(dirs, v1, sizeof(dirs));
		audit_fmt(what, sizeof(what), "v1 memory pids cpu "
		    "hierarchies");
	} else {
		audit_fmt(c->text, sizeof(c->text), "neither v2 with memory "
		    "pids cpu (controllers: %s) nor v1 memory pids cpu "
		    "hierarchies (found:%s%s%s)", f.v2_controllers[0] ?
		    f.v2_controllers : "none", f.v1_has[0] ? " memory" : "",
		    f.v1_has[1] ? " pids" : "", f.v1_has[2] ? " cpu" : "");
		return;
	}
	c->facts = json_pack("{s:i}", "version", f.v2 ? 2 : 1);
	for (int i = 0; i < CG_V1_N && dirs[i] != NULL; i++)
		if (faccessat(AT_FDCWD, dirs[i], W_OK, AT_EACCESS) != 0) {
			audit_fmt(c->text, sizeof(c->text), "%s, but %s: %s "
			    "(cgroups need root)", what, dirs[i],
			    strerror(errno));
			return;
		}
	c->ok = 1;
	audit_fmt(c->text, sizeof(c->text), "%s", what);
}

/* A trivial filter, loaded with libseccomp: does it act? */
static int
probe_seccomp(const void *arg, char *msg, size_t msgsz)
{
	scmp_filter_ctx ctx;
	int rc;

	(void)arg;
	if ((ctx = seccomp_init(SCMP_ACT_ALLOW)) == NULL)
		return say(msg, msgsz, "seccomp_init failed");
	if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EXDEV),
	    SCMP_SYS(getppid), 0)) != 0)
		return say(msg, msgsz, "seccomp_rule_add: %s", strerror(-rc));
	if ((rc = seccomp_load(ctx)) != 0)
		return say(msg, msgsz, "seccomp_load: %s", strerror(-rc));
	if (syscall(SYS_getppid) != -1 || errno != EXDEV)
		return say(msg, msgsz, "a loaded filter does not act");
	return 0;
}

static void
check_seccomp(struct check *c)
{
	const struct scmp_version *v = seccomp_version();
	char why[TEXT_MAX];

	c->ok = probe(probe_seccomp, NULL, why, sizeof(why)) == 0;
	if (c->ok)
		audit_fmt(c->text, sizeof(c->text), "libseccomp %u.%u.%u, "
		    "a filter loads and acts", v->major, v->minor, v->micro);
	else
		audit_fmt(c->text, sizeof(c->text), "libseccomp %u.%u.%u: %s",
		    v->major, v->minor, v->micro, why);
}

/*
 * Enforce a ruleset handling every right the ABI knows and allowing
 * none: listing / must then be refused.
 */
static int
probe_landlock(const void *arg, char *msg, size_t msgsz)
{
	int abi = *(const int *)arg, fd;
	struct ll_attr attr;
	size_t size = sizeof(attr.handled_access_fs);

	memset(&attr, 0, sizeof(attr));
	attr.handled_access_fs = LL_FS_ABI1;
	if (abi >= 2)
		attr.handled_access_fs |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		attr.handled_access_fs |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 4) {
		attr.handled_access_net = LANDLOCK_ACCESS_NET_BIND_TCP |
		    LANDLOCK_ACCESS_NET_CONNECT_TCP;
		size = offsetof(struct ll_attr, scoped);
	}
	if (abi >= 5)
		attr.handled_access_fs |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	if (abi >= 6) {
		attr.scoped = LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET |
		    LANDLOCK_SCOPE_SIGNAL;
		size = sizeof(attr);
	}
	if ((fd = (int)syscall(SYS_landlock_create_ruleset, &attr, size,
	    0)) < 0)
		return say(msg, msgsz, "landlock_create_ruleset: %s",
		    strerror(errno));
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    syscall(SYS_landlock_restrict_self, fd, 0) != 0)
		return say(msg, msgsz, "landlock_restrict_self: %s",
		    strerror(errno));
	if (open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC) >= 0 ||
	    errno != EACCES)
		return say(msg, msgsz, "an enforced ruleset does not refuse");
	return 0;
}

static void
check_landlock(struct check *c)
{
	char why[TEXT_MAX];
	int abi;

	abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);
	if (abi <= 0) {
		audit_fmt(c->text, sizeof(c->text), "%s (the proxy runs "
		    "commands without it)", errno == ENOSYS ? "not in this "
		    "kernel" : errno == EOPNOTSUPP ? "disabled at boot" :
		    strerror(errno));
		return;
	}
	c->facts = json_pack("{s:i}", "abi", abi);
	c->ok = probe(probe_landlock, &abi, why, sizeof(why)) == 0;
	if (c->ok)
		audit_fmt(c->text, sizeof(c->text), "ABI %d, a ruleset is "
		    "enforced", abi);
	else
		audit_fmt(c->text, sizeof(c->text), "ABI %d: %s", abi, why);
}

static void
on_alarm(int sig)
{
	(void)sig;
}

/*
 * The guest: out KVM_START to KVM_PORT (an exit that the timing leaves
 * out: the first entry's setup is not the guest's speed), count
 * KVM_LOOPS down, out KVM_VALUE, hlt.
 */
static void
kvm_guest(uint8_t *mem)
{
	static const uint8_t code[] = {
		0xb0, KVM_START,	/* mov $KVM_START, %al */
		0xe6, KVM_PORT,		/* out %al, $KVM_PORT */
		0x66, 0xb9, 0, 0, 0, 0,	/* mov $KVM_LOOPS, %ecx */
		0x66, 0x49,		/* 1: dec %ecx */
		0x75, 0xfc,		/* jnz 1b */
		0xb0, KVM_VALUE,	/* mov $KVM_VALUE, %al */
		0xe6, KVM_PORT,		/* out %al, $KVM_PORT */
		0xf4,			/* hlt */
	};
	uint32_t loops = KVM_LOOPS;

	memcpy(mem, code, sizeof(code));
	memcpy(mem + 6, &loops, sizeof(loops));
}

/* KVM_RUN until the guest exits, or KVM_RUN_MS have passed. */
static int
kvm_run(int vcpu, char *msg, size_t msgsz)
{
	struct itimerval it = { .it_value = { KVM_RUN_MS / 1000,
	    KVM_RUN_MS % 1000 * 1000 } };

	setitimer(ITIMER_REAL, &it, NULL);
	if (ioctl(vcpu, KVM_RUN, 0) != 0)
		return errno == EINTR ? say(msg, msgsz, "it did not reach its "
		    "hlt in %d ms", KVM_RUN_MS) : say(msg, msgsz, "KVM_RUN: "
		    "%s", strerror(errno));
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	return 0;
}

/* How a guest's exit other than the one expected reads. */
static int
kvm_exit_why(const struct kvm_run *run, char *msg, size_t msgsz)
{
	switch (run->exit_reason) {
	case KVM_EXIT_INTERNAL_ERROR:
		return say(msg, msgsz, "KVM_EXIT_INTERNAL_ERROR, suberror %u%s",
		    run->internal.suberror, run->internal.suberror ==
		    KVM_INTERNAL_ERROR_EMULATION ? " (an instruction it "
		    "cannot emulate)" : "");
	case KVM_EXIT_FAIL_ENTRY:
		return say(msg, msgsz, "KVM_EXIT_FAIL_ENTRY, reason %#llx",
		    (unsigned long long)
		    run->fail_entry.hardware_entry_failure_reason);
	case KVM_EXIT_SHUTDOWN:
		return say(msg, msgsz, "KVM_EXIT_SHUTDOWN (a triple fault)");
	default:
		return say(msg, msgsz, "unexpected exit %u", run->exit_reason);
	}
}

/* Run the guest to its next exit: an out of value to KVM_PORT? */
static int
kvm_out(int vcpu, struct kvm_run *run, uint8_t value, char *msg,
    size_t msgsz)
{
	if (kvm_run(vcpu, msg, msgsz) != 0)
		return -1;
	if (run->exit_reason != KVM_EXIT_IO)
		return kvm_exit_why(run, msg, msgsz);
	if (run->io.direction != KVM_EXIT_IO_OUT || run->io.port !=
	    KVM_PORT || run->io.size != 1 ||
	    ((uint8_t *)run)[run->io.data_offset] != value)
		return say(msg, msgsz, "it wrote something else than %#x to "
		    "port %#x", value, KVM_PORT);
	return 0;
}

/*
 * A VM with the guest's page at KVM_GUEST_ADDR and one vcpu about to
 * run it in real mode: the vcpu's fd, its run area in *run.
 */
static int
kvm_vm(struct kvm_run **run, char *msg, size_t msgsz)
{
	struct kvm_userspace_memory_region region;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	int kvm, vm, vcpu, size;
	uint8_t *mem;

	if ((kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC)) < 0 ||
	    (vm = ioctl(kvm, KVM_CREATE_VM, 0)) < 0)
		return say(msg, msgsz, "KVM_CREATE_VM: %s", strerror(errno));
	mem = mmap(NULL, KVM_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED |
	    MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return say(msg, msgsz, "mmap: %s", strerror(errno));
	kvm_guest(mem);
	memset(&region, 0, sizeof(region));
	region.guest_phys_addr = KVM_GUEST_ADDR;
	region.memory_size = KVM_PAGE;
	region.userspace_addr = (uint64_t)(uintptr_t)mem;
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) != 0)
		return say(msg, msgsz, "KVM_SET_USER_MEMORY_REGION: %s",
		    strerror(errno));
	if ((vcpu = ioctl(vm, KVM_CREATE_VCPU, 0)) < 0)
		return say(msg, msgsz, "KVM_CREATE_VCPU: %s", strerror(errno));
	if ((size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0)) <= 0 ||
	    (*run = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE,
	    MAP_SHARED, vcpu, 0)) == MAP_FAILED)
		return say(msg, msgsz, "the vcpu's run area: %s",
		    strerror(errno));
	/* Real mode, as at reset, but starting at KVM_GUEST_ADDR. */
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) != 0)
		return say(msg, msgsz, "KVM_GET_SREGS: %s", strerror(errno));
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	memset(&regs, 0, sizeof(regs));
	regs.rip = KVM_GUEST_ADDR;
	regs.rflags = 0x2;	/* bit 1 is always set */
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) != 0 ||
	    ioctl(vcpu, KVM_SET_REGS, &regs) != 0)
		return say(msg, msgsz, "setting the registers: %s",
		    strerror(errno));
	return vcpu;
}

/* Does the guest run, to its hlt, and at the processor's speed? */
static int
probe_kvm(const void *arg, char *msg, size_t msgsz)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct kvm_run *run = NULL;
	int64_t t0, ms;
	int vcpu;

	(void)arg;
	/* No SA_RESTART: the timer interrupts KVM_RUN. */
	sigaction(SIGALRM, &sa, NULL);
	if ((vcpu = kvm_vm(&run, msg, msgsz)) < 0 ||
	    kvm_out(vcpu, run, KVM_START, msg, msgsz) != 0)
		return -1;
	t0 = now_ms(CLOCK_THREAD_CPUTIME_ID);
	if (kvm_out(vcpu, run, KVM_VALUE, msg, msgsz) != 0)
		return -1;
	ms = now_ms(CLOCK_THREAD_CPUTIME_ID) - t0;
	if (kvm_run(vcpu, msg, msgsz) != 0)
		return -1;
	if (run->exit_reason != KVM_EXIT_HLT)
		return kvm_exit_why(run, msg, msgsz);
	if (ms >= KVM_LOOP_MS_MAX)
		return say(msg, msgsz, "it is emulated: %u loop iterations "
		    "took %lld ms of CPU, want under %d ms%s",
		    KVM_LOOPS, (long long)ms, KVM_LOOP_MS_MAX,
		    access("/sys/module/kvm_pvm", F_OK) == 0 ?
		    " (kvm_pvm is loaded: it runs PVM guests)" : "");
	return 0;
}

/*
 * For the VM drivers: does a plain guest run on /dev/kvm here?  1 yes,
 * 0 no (and why).
 */
int
doctor_kvm_usable(char *why, size_t whysz)
{
	int fd, api;

	if ((fd = open("/dev/kvm", O_RDWR | O_CLOEXEC)) < 0) {
		audit_fmt(why, whysz, "/dev/kvm: %s", strerror(errno));
		return 0;
	}
	api = ioctl(fd, KVM_GET_API_VERSION, 0);
	close(fd);
	if (api != KVM_API) {
		audit_fmt(why, whysz, "/dev/kvm: API %d, want %d", api,
		    KVM_API);
		return 0;
	}
	return probe(probe_kvm, NULL, why, whysz) == 0;
}

static void
check_kvm(struct check *c)
{
	char why[TEXT_MAX];
	int fd, api;

	if ((fd = open("/dev/kvm", O_RDWR | O_CLOEXEC)) < 0) {
		audit_fmt(c->text, sizeof(c->text), "/dev/kvm: %s",
		    strerror(errno));
		return;
	}
	api = ioctl(fd, KVM_GET_API_VERSION, 0);
	close(fd);
	c->facts = json_pack("{s:i, s:b}", "api", api, "plain_guest", 0);
	if (api != KVM_API) {
		audit_fmt(c->text, sizeof(c->text), "/dev/kvm: API %d, want "
		    "%d", api, KVM_API);
		return;
	}
	if (probe(probe_kvm, NULL, why, sizeof(why)) != 0) {
		audit_fmt(c->text, sizeof(c->text), "/dev/kvm opens (API %d) "
		    "but a plain guest does not run: %s", api, why);
		return;
	}
	c->ok = 1;
	json_object_set_new(c->facts, "plain_guest", json_true());
	audit_fmt(c->text, sizeof(c->text), "/dev/kvm (API %d) runs a plain "
	    "guest", api);
}

static void
check_vsock(struct check *c)
{
	int fd;

	if ((fd = open("/dev/vhost-vsock", O_RDWR | O_CLOEXEC)) < 0) {
		audit_fmt(c->text, sizeof(c->text), "/dev/vhost-vsock: %s",
		    strerror(errno));
		return;
	}
	close(fd);
	c->ok = 1;
	audit_fmt(c->text, sizeof(c->text), "/dev/vhost-vsock opens");
}

/* Does "-machine help" list microvm (a line "microvm  description")? */
static int
has_microvm(const char *path, char *msg, size_t msgsz)
{
	char *const argv[] = { (char *)path, (char *)"-machine",
	    (char *)"help", NULL };
	char *out, *line;
	int found = 0;

	if ((out = malloc(OUTPUT_MAX)) == NULL)
		return say(msg, msgsz, "out of memory");
	if (run_program(path, argv, out, OUTPUT_MAX, msg, msgsz) != 0) {
		free(out);
		return -1;
	}
	for (line = out; line != NULL && !found; line = strchr(line, '\n'),
	    line = line != NULL ? line + 1 : NULL)
		found = strncmp(line, "microvm", 7) == 0 && (line[7] == ' ' ||
		    line[7] == '\t' || line[7] == '\n' || line[7] == '\0');
	free(out);
	return found ? 0 : say(msg, msgsz, "no microvm machine in its "
	    "-machine help");
}

static void
check_qemu(struct check *c)
{
	char path[LOCAL_PATH_MAX], version[TEXT_MAX], why[TEXT_MAX] = "";
	int microvm;

	if (find_on_path("qemu-system-x86_64", path, sizeof(path)) != 0) {
		audit_fmt(c->text, sizeof(c->text), "qemu-system-x86_64 not "
		    "found on PATH");
		return;
	}
	if (version_of(path, version, sizeof(version), why,
	    sizeof(why)) != 0) {
		audit_fmt(c->text, sizeof(c->text), "%s", why);
		return;
	}
	microvm = has_microvm(path, why, sizeof(why)) == 0;
	c->facts = json_pack("{s:s, s:s, s:b}", "path", path, "version",
	    version, "microvm", microvm);
	c->ok = microvm;
	audit_fmt(c->text, sizeof(c->text), "%s (%s)%s%s", path, version,
	    microvm ? ", machine microvm" : ": ", microvm ? "" : why);
}

static void
check_firecracker(struct check *c)
{
	char path[LOCAL_PATH_MAX], jailer[LOCAL_PATH_MAX], version[TEXT_MAX];
	char why[TEXT_MAX] = "";

	if (find_on_path("firecracker", path, sizeof(path)) != 0) {
		audit_fmt(c->text, sizeof(c->text), "firecracker not found on "
		    "PATH");
		return;
	}
	if (version_of(path, version, sizeof(version), why,
	    sizeof(why)) != 0) {
		audit_fmt(c->text, sizeof(c->text), "%s", why);
		return;
	}
	/* The jailer is optional: without it, the node's sandbox jails. */
	(void)find_on_path("jailer", jailer, sizeof(jailer));
	c->facts = json_pack("{s:s, s:s, s:s?}", "path", path, "version",
	    version, "jailer", jailer[0] ? jailer : NULL);
	c->ok = 1;
	audit_fmt(c->text, sizeof(c->text), "%s (%s), jailer %s", path,
	    version, jailer[0] ? jailer : "not found (optional)");
}

static struct check checks[C_COUNT] = {
	[C_NAMESPACES] = { "namespaces", check_namespaces, 0, "", NULL },
	[C_PIDFD] = { "pidfd", check_pidfd, 0, "", NULL },
	[C_CGROUP] = { "cgroup", check_cgroup, 0, "", NULL },
	[C_SECCOMP] = { "seccomp", check_seccomp, 0, "", NULL },
	[C_LANDLOCK] = { "landlock", check_landlock, 0, "", NULL },
	[C_KVM] = { "kvm", check_kvm, 0, "", NULL },
	[C_VSOCK] = { "vhost-vsock", check_vsock, 0, "", NULL },
	[C_QEMU] = { "qemu", check_qemu, 0, "", NULL },
	[C_FIRECRACKER] = { "firecracker", check_firecracker, 0, "", NULL },
};

#define NEEDS_MAX	4

static const struct driver {
	const char *name;
	int	 needs[NEEDS_MAX + 1];	/* checks; -1 ends */
} drivers[] = {
	{ "local", { C_NAMESPACES, C_PIDFD, C_CGROUP, C_SECCOMP, -1 } },
	{ "qemu", { C_QEMU, -1 } },
	{ "firecracker", { C_FIRECRACKER, C_KVM, -1 } },
};
#define DRIVERS_N	(sizeof(drivers) / sizeof(drivers[0]))

/* "yes" and how it would run, or "no: " and each check it lacks. */
static int
driver_verdict(const struct driver *d, char *text, size_t textsz)
{
	const struct check *c;

	text[0] = '\0';
	for (int i = 0; d->needs[i] >= 0; i++) {
		c = &checks[d->needs[i]];
		if (c->ok)
			continue;
		say(text, textsz, "%s", text[0] ? "; " : "no: ");
		/* The check named for the driver needs no name. */
		if (strcmp(c->name, d->name) != 0)
			say(text, textsz, "%s: ", c->name);
		say(text, textsz, "%s", c->text);
	}
	if (text[0] != '\0')
		return 0;
	say(text, textsz, "yes");
	if (strcmp(d->name, "qemu") == 0)
		say(text, textsz, ": accel %s, channel %s", checks[C_KVM].ok ?
		    "kvm" : "tcg", checks[C_VSOCK].ok ? "vhost-vsock" :
		    "virtio-serial");
	return 1;
}

/* A check's line, less its name: "what was found: ok" or "no: why". */
static void
check_line(const struct check *c, char *line, size_t linesz)
{
	audit_fmt(line, linesz, "%s%s%s", c->ok ? "" : "no: ", c->text,
	    c->ok ? ": ok" : "");
}

static json_t *
report_json(void)
{
	json_t *o = json_object(), *cs = json_object(), *ds = json_object();
	char line[VERDICT_MAX];
	json_t *j;

	for (int i = 0; i < C_COUNT; i++) {
		check_line(&checks[i], line, sizeof(line));
		j = checks[i].facts != NULL ? checks[i].facts : json_object();
		checks[i].facts = NULL;	/* transferred */
		json_object_set_new(j, "ok", json_boolean(checks[i].ok));
		json_object_set_new(j, "text", json_string(line));
		json_object_set_new(cs, checks[i].name, j);
	}
	for (size_t i = 0; i < DRIVERS_N; i++) {
		int ok = driver_verdict(&drivers[i], line, sizeof(line));

		json_object_set_new(ds, drivers[i].name, json_pack("{s:b, s:s}",
		    "ok", ok, "text", line));
	}
	json_object_set_new(o, "checks", cs);
	json_object_set_new(o, "drivers", ds);
	return o;
}

/* The exit status, once the report is out: 2 when it could not be. */
static int
written(int any)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "nucleus-node: doctor: cannot write the "
		    "report: %s\n", strerror(errno));
		return 2;
	}
	return any ? 0 : 1;
}

/*
 * Run every check and print what was found: a line per check and per
 * driver, or (json) one object.  0 when some driver can run here, 1
 * when none can, 2 when the report cannot be written.
 */
int
doctor_run(int json)
{
	char line[VERDICT_MAX];
	int any = 0;
	json_t *o;

	/* The probes' children must not print what is buffered twice. */
	fflush(stdout);
	for (int i = 0; i < C_COUNT; i++) {
		checks[i].run(&checks[i]);
		printable(checks[i].text);
	}
	for (size_t i = 0; i < DRIVERS_N; i++)
		any |= driver_verdict(&drivers[i], line, sizeof(line));
	if (json) {
		o = report_json();
		(void)json_dumpf(o, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(o);
		return written(any);
	}
	for (int i = 0; i < C_COUNT; i++) {
		check_line(&checks[i], line, sizeof(line));
		printf("%s: %s\n", checks[i].name, line);
		json_decref(checks[i].facts);
		checks[i].facts = NULL;
	}
	for (size_t i = 0; i < DRIVERS_N; i++) {
		driver_verdict(&drivers[i], line, sizeof(line));
		printf("driver %s: %s\n", drivers[i].name, line);
	}
	return written(any);
}
