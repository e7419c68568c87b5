/*
 * Once set up, the authority confines itself with a seccomp allowlist:
 * it reads and writes the sockets, LMDB and the log it already has open,
 * and nothing else.  It cannot start a thread or a program, or make a
 * connection; any other system call kills it (syscalls.c).  It opens,
 * links and renames files only to rotate its log, and only where
 * Landlock keeps those beneath its directory; without Landlock it opens
 * none, and its log does not rotate.
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
};

/* What the rotation of the log adds: the successor, the kept name. */
static const char *const rotating[] = {
	"openat", "linkat", "renameat", "renameat2", "flock", "newfstatat",
};

#define NALLOWED	(sizeof(allowed) / sizeof(allowed[0]))
#define NROTATING	(sizeof(rotating) / sizeof(rotating[0]))

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

/* Every file right Landlock has, handled; beneath dir, the log's. */
static int
landlock_dir(const char *dir, int abi, struct audit_err *err)
{
	struct landlock_ruleset_attr attr = { .handled_access_fs = LL_FS_V1 };
	struct landlock_path_beneath_attr pb = { 0, -1 };
	int fd, rc = -1;

	if (abi >= 2)
		attr.handled_access_fs |= LL_FS_REFER;
	if (abi >= 3)
		attr.handled_access_fs |= LL_FS_TRUNCATE;
	if (abi >= 5)
		attr.handled_access_fs |= LL_FS_IOCTL_DEV;
	pb.allowed_access = LANDLOCK_ACCESS_FS_READ_FILE |
	    LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_DIR |
	    LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_REG |
	    (abi >= 2 ? LL_FS_REFER : 0) | (abi >= 3 ? LL_FS_TRUNCATE : 0);
	if ((fd = (int)syscall(SYS_landlock_create_ruleset, &attr,
	    sizeof(attr.handled_access_fs), 0)) < 0)
		return audit_errf(err, "landlock: cannot make a ruleset: %s",
		    strerror(errno));
	if ((pb.parent_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    syscall(SYS_landlock_add_rule, fd, LANDLOCK_RULE_PATH_BENEATH,
	    &pb, 0) != 0 || sanitizer_proc(fd) != 0 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    syscall(SYS_landlock_restrict_self, fd, 0) != 0)
		audit_errf(err, "landlock: %s: %s", dir, strerror(errno));
	else
		rc = 0;
	if (pb.parent_fd >= 0)
		close(pb.parent_fd);
	close(fd);
	return rc;
}

/*
 * Confine the authority; with abi > 0 (Landlock), files may still be
 * opened, linked and renamed beneath dir alone: its log rotates.
 */
int
confine_self(const char *dir, int abi, struct audit_err *err)
{
	const char *list[NALLOWED + NROTATING];
	size_t n = 0;

	for (size_t i = 0; i < NALLOWED; i++)
		list[n++] = allowed[i];
	if (abi > 0) {
		if (landlock_dir(dir, abi, err) != 0)
			return -1;
		for (size_t i = 0; i < NROTATING; i++)
			list[n++] = rotating[i];
	}
	return syscalls_confine("authority", list, n, err);
}
