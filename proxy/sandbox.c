/*
 * Sandboxes.
 *
 * Commands run under a seccomp filter that refuses, with EPERM, what an
 * agent's command has no business doing (tracing, mounting, changing
 * root, loading kernel code, BPF, perf, keyrings, new namespaces,
 * userfaultfd, reading other processes' memory, io_uring, which bypasses
 * seccomp) and, unless the pod's policy allows egress, internet and raw
 * sockets; and, where the kernel has Landlock, under a ruleset that lets
 * them write only beneath the work root and /tmp (and, without egress,
 * neither bind nor connect TCP).
 *
 * The proxy itself, once set up, runs under an allowlist whose default
 * action kills it: a syscall it never makes is one an attacker who took
 * it over cannot make either.  No flag turns any of this off; if a filter
 * cannot be installed the proxy stops and says which.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <stdint.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox.h"
#include "syscalls.h"

/*
 * The Landlock ABI is stable; this system's headers may predate its
 * later versions, whose values are spelled out here.
 */
#define LL_FS_TRUNCATE		(1ULL << 14)	/* ABI 3 */
#define LL_NET_BIND_TCP		(1ULL << 0)	/* ABI 4 */
#define LL_NET_CONNECT_TCP	(1ULL << 1)	/* ABI 4 */
#define LL_SCOPE_SIGNAL		(1ULL << 1)	/* ABI 6 */

struct ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;	/* ABI 4 */
	uint64_t scoped;		/* ABI 6 */
};

static const char *const command_denied[] = {
	"ptrace", "mount", "umount2", "pivot_root", "chroot", "kexec_load",
	"kexec_file_load", "init_module", "finit_module", "delete_module",
	"bpf", "perf_event_open", "keyctl", "add_key", "request_key",
	"unshare", "setns", "userfaultfd", "process_vm_readv",
	"process_vm_writev", "open_by_handle_at", "io_uring_setup",
	"io_uring_enter", "io_uring_register", "fanotify_init",
	"lookup_dcookie", "swapon", "swapoff", "reboot", "syslog",
	"acct", "settimeofday", "clock_settime", "adjtimex", "quotactl",
	"mount_setattr", "move_mount", "open_tree", "fsopen", "fsmount",
	"fsconfig", "fspick",
};

/* clone(2) flags that make a namespace: each refused alone. */
static const unsigned long ns_flags[] = {
	CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWIPC,
	CLONE_NEWUTS, CLONE_NEWCGROUP, CLONE_NEWTIME,
};

scmp_filter_ctx
sandbox_command_filter(int egress, struct audit_err *err)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int rc = 0;

	if (ctx == NULL) {
		audit_errf(err, "seccomp: cannot make a filter");
		return NULL;
	}
	for (size_t i = 0; i < sizeof(command_denied) /
	    sizeof(command_denied[0]) && rc == 0; i++) {
		int nr = seccomp_syscall_resolve_name(command_denied[i]);

		if (nr != __NR_SCMP_ERROR)
			rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
	}
	/* New namespaces through clone(2); clone3's flags are out of
	 * reach of a filter, so clone3 says "not here" and libc falls
	 * back to clone. */
	for (size_t i = 0; i < sizeof(ns_flags) / sizeof(ns_flags[0]) &&
	    rc == 0; i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM),
		    SCMP_SYS(clone), 1, SCMP_A0(SCMP_CMP_MASKED_EQ,
		    (scmp_datum_t)ns_flags[i], (scmp_datum_t)ns_flags[i]));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS),
		    SCMP_SYS(clone3), 0);
	/* Without egress, no socket that reaches a network. */
	if (!egress && rc == 0)
		rc = syscalls_deny_net(ctx);
	if (rc != 0) {
		seccomp_release(ctx);
		audit_errf(err, "seccomp: cannot add a rule: %s",
		    strerror(-rc));
		return NULL;
	}
	return ctx;
}

int
sandbox_landlock_abi(void)
{
	long v = syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);

	return v < 0 ? 0 : (int)v;
}

static int
allow_beneath(int ruleset, const char *path, uint64_t access)
{
	struct landlock_path_beneath_attr pb = { access, -1 };
	int rc;

	if ((pb.parent_fd = open(path, O_PATH | O_CLOEXEC)) < 0)
		return errno == ENOENT ? 0 : -1;
	rc = (int)syscall(SYS_landlock_add_rule, ruleset,
	    LANDLOCK_RULE_PATH_BENEATH, &pb, 0);
	close(pb.parent_fd);
	return rc;
}

/*
 * A Landlock ruleset for commands: writes only beneath root and /tmp (and
 * /dev/null's writes), without egress no TCP bind or connect, and no
 * signal to a process outside the command's own domain: the commands
 * run as the proxy's uid, and kill(-1, SIGKILL) would otherwise end the
 * proxy and the spawner (and with them the pod).
 * Returns its fd, or -1 when the kernel has no Landlock (*abi is then 0).
 */
int
sandbox_landlock(const char *root, int egress, int *abi,
    struct audit_err *err)
{
	struct ll_ruleset_attr attr;
	uint64_t writes;
	size_t attrsz;
	int fd;

	memset(&attr, 0, sizeof(attr));
	if ((*abi = sandbox_landlock_abi()) <= 0)
		return -1;
	writes = LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR |
	    LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_CHAR |
	    LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |
	    LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO |
	    LANDLOCK_ACCESS_FS_MAKE_BLOCK | LANDLOCK_ACCESS_FS_MAKE_SYM;
	if (*abi >= 2)
		writes |= LANDLOCK_ACCESS_FS_REFER;
	if (*abi >= 3)
		writes |= LL_FS_TRUNCATE;
	attr.handled_access_fs = writes;
	attrsz = sizeof(attr.handled_access_fs);
	if (*abi >= 4) {
		attrsz = offsetof(struct ll_ruleset_attr, scoped);
		if (!egress)
			attr.handled_access_net = LL_NET_BIND_TCP |
			    LL_NET_CONNECT_TCP;
	}
	if (*abi >= 6) {
		attrsz = sizeof(attr);
		attr.scoped = LL_SCOPE_SIGNAL;
	}
	fd = (int)syscall(SYS_landlock_create_ruleset, &attr, attrsz, 0);
	if (fd < 0) {
		audit_errf(err, "landlock: cannot make a ruleset: %s",
		    strerror(errno));
		return -2;
	}
	if (allow_beneath(fd, root, writes) != 0 ||
	    allow_beneath(fd, "/tmp", writes) != 0 ||
	    allow_beneath(fd, "/dev/null", LANDLOCK_ACCESS_FS_WRITE_FILE |
	    (*abi >= 3 ? LL_FS_TRUNCATE : 0)) != 0) {
		audit_errf(err, "landlock: cannot add a rule: %s",
		    strerror(errno));
		close(fd);
		return -2;
	}
	return fd;
}

/* What the proxy does once set up; anything else kills it. */
static const char *const self_allowed[] = {
	/* files beneath the work root, the log, LMDB */
	"read", "write", "readv", "writev", "pread64", "pwrite64", "openat",
	"openat2", "close", "fstat", "newfstatat", "statx", "lseek",
	"getdents64", "mkdirat", "unlinkat", "renameat2", "readlinkat",
	"readlink",
	"fsync", "fdatasync", "ftruncate", "fcntl", "flock", "msync", "dup",
	"fallocate",	/* the log's copied part given back (reclaim.c) */
	"faccessat", "faccessat2",
	/* what it makes, given to run_as's uid */
	"fchown", "fchownat",
	/* an edited file keeps its mode */
	"fchmod",
	/* the event loop, sockets and the spawner */
	"epoll_wait", "epoll_pwait", "epoll_ctl", "poll", "ppoll", "select",
	"pselect6", "accept4", "accept", "recvfrom", "recvmsg", "sendto",
	"sendmsg", "shutdown", "getsockopt", "setsockopt", "getsockname",
	"getpeername", "pipe2", "eventfd2",
	/* the egress relay's pipes (relay.h) */
	"splice",
	/* memory, threads, time, signals */
	"brk", "mmap", "munmap", "mremap", "madvise", "mprotect", "futex",
	"clone", "clone3", "set_robust_list", "rseq", "exit", "exit_group",
	"sched_yield", "getrandom", "clock_gettime", "clock_getres",
	"gettimeofday", "nanosleep", "clock_nanosleep", "getpid", "gettid",
	"rt_sigprocmask", "rt_sigaction", "rt_sigreturn", "sigaltstack",
	"tgkill", "restart_syscall", "getuid", "geteuid", "getgid",
	"getegid",
	/* glibc's qsort asks how much memory there is before sorting a
	 * large array (a list of many entries) */
	"sysinfo",
};

/*
 * With web_fetch (egress and the HTTP client): libcurl's TCP connection
 * to the pod's own egress listener, and its wake-up pair.  The pod has
 * no network device: loopback is all a socket can reach.
 */
static const char *const fetch_allowed[] = {
	"socket", "connect", "socketpair",
};

#define SELF_N	(sizeof(self_allowed) / sizeof(self_allowed[0]))
#define FETCH_N	(sizeof(fetch_allowed) / sizeof(fetch_allowed[0]))

/* With a VM's egress port (egress_mux.c): a socketpair per stream. */
static const char *const port_allowed[] = { "socketpair" };

int
sandbox_self(int fetch, int port, struct audit_err *err)
{
	const char *names[SELF_N + FETCH_N];
	size_t n = SELF_N;

	memcpy(names, self_allowed, sizeof(self_allowed));
	if (fetch) {
		memcpy(names + n, fetch_allowed, sizeof(fetch_allowed));
		n += FETCH_N;
	} else if (port)
		names[n++] = port_allowed[0];
	return syscalls_confine("proxy", names, n, err);
}
