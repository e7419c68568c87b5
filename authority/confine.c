/*
 * Once set up, the authority confines itself with a seccomp allowlist:
 * it reads and writes the sockets, LMDB and the log it already has open,
 * and nothing else.  It cannot open a file, start a thread or a program,
 * or make a connection; any other system call kills it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/prctl.h>

#include <seccomp.h>

#include "confine.h"

static const char *const allowed[] = {
	/* the sockets, the log and LMDB, all open already */
	"read", "write", "readv", "writev", "pread64", "pwrite64", "close",
	"fstat", "lseek", "fsync", "fdatasync", "msync", "fcntl",
	/* the event loop and the connections */
	"epoll_wait", "epoll_pwait", "epoll_ctl", "poll", "ppoll", "accept4",
	"accept", "recvfrom", "recvmsg", "sendto", "sendmsg", "shutdown",
	"getsockopt",
	/* memory (sodium_malloc locks its pages), time, signals, threads
	 * already running */
	"brk", "mmap", "munmap", "mremap", "madvise", "mprotect", "mlock",
	"munlock", "futex", "exit", "exit_group", "sched_yield", "getrandom",
	"clock_gettime", "clock_getres", "gettimeofday", "nanosleep",
	"clock_nanosleep", "getpid", "gettid", "rt_sigprocmask",
	"rt_sigaction", "rt_sigreturn", "sigaltstack", "tgkill",
	"restart_syscall", "getuid", "geteuid", "sysinfo",
#if defined(__SANITIZE_ADDRESS__)
	/* what the sanitizers' runtime does when it reports, and
	 * LeakSanitizer stopping the world at exit */
	"sched_getaffinity", "prctl", "getrlimit", "prlimit64", "ioctl",
	"readlink", "open", "openat", "stat", "lstat", "newfstatat",
	"getppid", "setrlimit", "kill", "wait4", "uname", "getdents",
	"getdents64", "epoll_create1", "ptrace", "waitid", "tkill", "clone",
	"clone3", "sched_setaffinity", "getpgid", "set_robust_list", "rseq",
	"pipe2",
#endif
};

int
confine_self(struct audit_err *err)
{
	scmp_filter_ctx ctx;
	int rc = 0;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return audit_errf(err, "no_new_privs: %s", strerror(errno));
	if ((ctx = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL)
		return audit_errf(err, "seccomp: cannot make a filter");
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]) &&
	    rc == 0; i++) {
		int nr = seccomp_syscall_resolve_name(allowed[i]);

		if (nr != __NR_SCMP_ERROR)
			rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
	}
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc != 0)
		return audit_errf(err, "seccomp: cannot install the "
		    "authority's own filter: %s", strerror(-rc));
	return 0;
}
