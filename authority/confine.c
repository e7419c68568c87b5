/*
 * Once set up, the authority confines itself with a seccomp allowlist:
 * it reads and writes the sockets, LMDB and the log it already has open,
 * and nothing else.  It cannot start a thread or a program, make a
 * connection, link or rename a file; any such call kills it
 * (syscalls.c), and opening a file fails (EACCES).  The files of its
 * log's rotation are made by the reader (reader.c), which passes the new
 * one's descriptor.  Where the kernel has Landlock, a ruleset that allows
 * no file at all is a second line.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/landlock.h>

#include "confine.h"
#include "syscalls.h"

#define LL_FS_V1	((1ULL << 13) - 1)	/* every right of ABI 1 */
#define LL_FS_REFER	(1ULL << 13)		/* ABI 2 */
#define LL_FS_TRUNCATE	(1ULL << 14)		/* ABI 3 */
#define LL_FS_IOCTL_DEV	(1ULL << 15)		/* ABI 5 */

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
	/* what the C library's start of a thread does first, should one
	 * made before the filter first run under it (the log waits for its
	 * threads to run before it is handed over; this is the second
	 * line): it cannot make a thread, which needs clone */
	"rseq", "set_robust_list",
	/* the log: a torn tail cut when it is taken up after a full disk;
	 * the lock of a successor the reader made */
	"ftruncate", "flock",
	/* the default loop reaps a child that ends: the reader, killed */
	"wait4",
};

#define NALLOWED	(sizeof(allowed) / sizeof(allowed[0]))

int
confine_landlock_abi(void)
{
	long v = syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);

	return v < 0 ? 0 : (int)v;
}

/*
 * In a sanitizer build only: LeakSanitizer's tracer, at exit, reads
 * /proc/<pid>/task, which the ruleset would refuse it.
 */
static int
sanitizer_proc(int ruleset)
{
#if defined(__SANITIZE_ADDRESS__)
	struct landlock_path_beneath_attr pb = { LANDLOCK_ACCESS_FS_READ_FILE |
	    LANDLOCK_ACCESS_FS_READ_DIR, -1 };
	int rc;

	if ((pb.parent_fd = open("/proc", O_PATH | O_DIRECTORY |
	    O_CLOEXEC)) < 0)
		return -1;
	rc = (int)syscall(SYS_landlock_add_rule, ruleset,
	    LANDLOCK_RULE_PATH_BENEATH, &pb, 0);
	close(pb.parent_fd);
	return rc;
#else
	(void)ruleset;
	return 0;
#endif
}

/* Every file right Landlock has, handled; none allowed. */
static int
landlock_none(int abi, struct audit_err *err)
{
	struct landlock_ruleset_attr attr = { .handled_access_fs = LL_FS_V1 };
	int fd, rc = -1;

	if (abi >= 2)
		attr.handled_access_fs |= LL_FS_REFER;
	if (abi >= 3)
		attr.handled_access_fs |= LL_FS_TRUNCATE;
	if (abi >= 5)
		attr.handled_access_fs |= LL_FS_IOCTL_DEV;
	if ((fd = (int)syscall(SYS_landlock_create_ruleset, &attr,
	    sizeof(attr.handled_access_fs), 0)) < 0)
		return audit_errf(err, "landlock: cannot make a ruleset: %s",
		    strerror(errno));
	if (sanitizer_proc(fd) != 0 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    syscall(SYS_landlock_restrict_self, fd, 0) != 0)
		audit_errf(err, "landlock: %s", strerror(errno));
	else
		rc = 0;
	close(fd);
	return rc;
}

/* Confine the authority; with abi > 0, Landlock as well. */
int
confine_self(int abi, struct audit_err *err)
{
	if (abi > 0 && landlock_none(abi, err) != 0)
		return -1;
	return syscalls_confine("authority", allowed, NALLOWED, err);
}
