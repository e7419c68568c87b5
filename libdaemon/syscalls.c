/*
 * Seccomp, the parts the proxy, the authority and the node's VMMs share.
 *
 * A daemon, once set up, runs under an allowlist whose default action
 * kills it: a system call it never makes is one an attacker who took it
 * over cannot make either.  Each program names its own list; the
 * installer is this one, and it fails closed: the caller stops when it
 * cannot be installed (no flag turns it off).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include "syscalls.h"

/* Socket families that reach a network: refused where none may be. */
static const int net_families[] = {
	AF_INET, AF_INET6, AF_PACKET, AF_NETLINK, AF_VSOCK, AF_BLUETOOTH,
	AF_CAN, AF_XDP,
};

#if defined(__SANITIZE_ADDRESS__)
/*
 * What the sanitizers' runtime does when it reports, and LeakSanitizer
 * stopping the world at exit (a tracer thread walks /proc/self/task and
 * ptrace-attaches to every thread), and its allocator spinning on a lock
 * (sched_yield, when threads contend: t1103 4): only in a sanitizer build.
 */
static const char *const sanitizer_allowed[] = {
	"sched_getaffinity", "prctl", "getrlimit", "prlimit64", "ioctl",
	"readlink", "open", "openat", "stat", "lstat", "newfstatat",
	"getppid", "setrlimit", "kill", "wait4", "uname", "getdents",
	"getdents64", "epoll_create1", "ptrace", "waitid", "tkill", "clone",
	"clone3", "sched_setaffinity", "getpgid", "set_robust_list", "rseq",
	"pipe2", "sched_yield",
};
#endif

/*
 * Calls that open a file by name: refused with EACCES rather than fatal
 * where a list leaves them out.  The C library makes some of its own
 * (malloc, shrinking a thread's heap, reads
 * /proc/sys/vm/overcommit_memory once) and copes with a refusal; a kill
 * there would end a daemon under load for nothing.  Either way no file
 * is opened.
 */
static const char *const opens[] = { "open", "openat", "openat2", "creat" };

/*
 * Give each call of names this system knows (others do not exist) the
 * action; one a list named already keeps its first action.
 */
static int
add(scmp_filter_ctx ctx, uint32_t action, const char *const *names,
    size_t n)
{
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++) {
		int nr = seccomp_syscall_resolve_name(names[i]);

		if (nr != __NR_SCMP_ERROR &&
		    (rc = seccomp_rule_add(ctx, action, nr, 0)) == -EEXIST)
			rc = 0;
	}
	return rc;
}

static int
allow(scmp_filter_ctx ctx, const char *const *names, size_t n)
{
	return add(ctx, SCMP_ACT_ALLOW, names, n);
}

/*
 * Confine the calling process, every thread of it, to the n system
 * calls of allowed; opening a file off the list fails (EACCES), any
 * other call kills it.  who names the program in the error ("proxy":
 * "cannot install the proxy's own filter").
 */
int
syscalls_confine(const char *who, const char *const *allowed, size_t n,
    struct audit_err *err)
{
	return syscalls_confine_more(who, allowed, n, NULL, err);
}

/* The same, with the rules more adds (a call allowed for some arguments
 * only). */
int
syscalls_confine_more(const char *who, const char *const *allowed,
    size_t n, int (*more)(scmp_filter_ctx), struct audit_err *err)
{
	scmp_filter_ctx ctx;
	int rc;

	/*
	 * The C library's malloc opens files of its own, by chance, under
	 * load (past the filter, refused below; before, it killed the
	 * process): making its ninth arena it reads
	 * /sys/devices/system/cpu/online to know how many it may make;
	 * shrinking a thread's arena it reads /proc/sys/vm/overcommit_memory.
	 * With the arenas limited and a thread's arena never shrunk (its top
	 * stays below HEAP_MAX_SIZE, 64 MiB, far below the threshold), it
	 * never tries.
	 */
#if !defined(__SANITIZE_ADDRESS__)
	/* (A sanitizer's allocator has no arenas, and takes no mallopt.) */
	if (mallopt(M_ARENA_MAX, SYSCALLS_ARENAS) != 1 ||
	    mallopt(M_TRIM_THRESHOLD, INT_MAX) != 1)
		return audit_errf(err, "malloc: cannot set its arenas");
#endif
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return audit_errf(err, "no_new_privs: %s", strerror(errno));
	if ((ctx = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL)
		return audit_errf(err, "seccomp: cannot make a filter");
	rc = allow(ctx, allowed, n);
	if (rc == 0 && more != NULL)
		rc = more(ctx);
#if defined(__SANITIZE_ADDRESS__)
	if (rc == 0)
		rc = allow(ctx, sanitizer_allowed, sizeof(sanitizer_allowed) /
		    sizeof(sanitizer_allowed[0]));
#endif
	if (rc == 0)
		rc = add(ctx, SCMP_ACT_ERRNO(EACCES), opens,
		    sizeof(opens) / sizeof(opens[0]));
	/* Every thread: the log's and the workers' run already. */
	if (rc == 0)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc != 0)
		return audit_errf(err, "seccomp: cannot install the %s's own "
		    "filter: %s", who, strerror(-rc));
	return 0;
}

/* Add to ctx: a socket of a family that reaches a network is EACCES. */
int
syscalls_deny_net(scmp_filter_ctx ctx)
{
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < sizeof(net_families) /
	    sizeof(net_families[0]); i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES),
		    SCMP_SYS(socket), 1, SCMP_A0(SCMP_CMP_EQ,
		    (scmp_datum_t)net_families[i], 0));
	return rc;
}
