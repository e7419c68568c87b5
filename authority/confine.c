/*
 * Once set up, the authority confines itself with a seccomp allowlist:
 * it reads and writes the sockets, LMDB and the log it already has open,
 * and nothing else.  It cannot open a file, start a thread or a program,
 * or make a connection; any other system call kills it (syscalls.c).
 */
#include "confine.h"
#include "syscalls.h"

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

int
confine_self(struct audit_err *err)
{
	return syscalls_confine("authority", allowed, sizeof(allowed) /
	    sizeof(allowed[0]), err);
}
