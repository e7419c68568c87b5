/*
 * The shared seccomp parts (syscalls.c): a confined process is killed by
 * a call off its list, every thread of it, and the network families are
 * refused while a local socket is not.  Each case runs in a child.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "syscalls.h"
#include "tap.h"

static const char *const few[] = {
	"read", "write", "exit", "exit_group", "futex", "rt_sigprocmask",
	"munmap", "madvise", "mprotect", "brk", "mmap", "getpid", "gettid",
	"set_robust_list", "rseq", "clock_nanosleep", "nanosleep",
	"sigaltstack",	/* the sanitizers' runtime, at exit */
};
#define NFEW	(sizeof(few) / sizeof(few[0]))

static int gate[2];

/* How child() ended: its exit status, or 128 + the signal. */
static int
in_child(int (*child)(void))
{
	pid_t pid = fork();
	int st;

	if (pid == 0)
		_exit(child());
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
}

static int
allowed_call(void)
{
	struct audit_err e;

	if (syscalls_confine("test", few, NFEW, &e) != 0)
		return 3;
	return getpid() > 0 ? 0 : 4;
}

static int
other_call(void)
{
	struct audit_err e;
	char buf[256];

	if (syscalls_confine("test", few, NFEW, &e) != 0)
		return 3;
	(void)syscall(SYS_getcwd, buf, sizeof(buf));
	return 0;
}

#if !defined(__SANITIZE_ADDRESS__)
/* Opening a file off the list fails, and the process goes on. */
static int
open_call(void)
{
	struct audit_err e;

	if (syscalls_confine("test", few, NFEW, &e) != 0)
		return 3;
	if (syscall(SYS_openat, AT_FDCWD, "/proc/sys/vm/overcommit_memory",
	    O_RDONLY) >= 0 || errno != EACCES)
		return 7;
	if (syscall(SYS_open, "/etc/passwd", O_RDONLY) >= 0 || errno != EACCES)
		return 8;
	return 0;
}
#endif

/* One named twice, by a list and by the sanitizers' own, is allowed. */
static int
twice(void)
{
	static const char *const dup[] = { "read", "write", "exit",
	    "exit_group", "futex", "rt_sigprocmask", "munmap", "madvise",
	    "mprotect", "brk", "mmap", "getpid", "gettid", "set_robust_list",
	    "rseq", "clock_nanosleep", "nanosleep", "sigaltstack", "openat",
	    "getpid" };
	struct audit_err e;

	if (syscalls_confine("test", dup, sizeof(dup) / sizeof(dup[0]),
	    &e) != 0)
		return 3;
	return syscall(SYS_openat, AT_FDCWD, "/dev/null", O_RDONLY) >= 0 ?
	    0 : 9;
}

static void *
late(void *arg)
{
	char buf[256], c;

	(void)arg;
	if (read(gate[0], &c, 1) == 1)	/* after the main thread confined */
		(void)syscall(SYS_getcwd, buf, sizeof(buf));
	return NULL;
}

static int
other_thread(void)
{
	struct audit_err e;
	pthread_t th;

	if (pipe(gate) != 0 || pthread_create(&th, NULL, late, NULL) != 0)
		return 5;
	if (syscalls_confine("test", few, NFEW, &e) != 0)
		return 3;
	if (write(gate[1], "x", 1) != 1)
		return 6;
	pthread_join(th, NULL);
	return 0;
}

static int
net(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int fd;

	if (ctx == NULL || syscalls_deny_net(ctx) != 0 ||
	    seccomp_load(ctx) != 0)
		return 3;
	if (socket(AF_INET, SOCK_STREAM, 0) >= 0 || errno != EACCES)
		return 10;
	if (socket(AF_INET6, SOCK_DGRAM, 0) >= 0 || errno != EACCES)
		return 11;
	if (socket(AF_NETLINK, SOCK_RAW, 0) >= 0 || errno != EACCES)
		return 12;
	if (socket(AF_VSOCK, SOCK_STREAM, 0) >= 0 || errno != EACCES)
		return 13;
	if (socket(AF_PACKET, SOCK_RAW, 0) >= 0 || errno != EACCES)
		return 14;
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0)
		return 20;
	close(fd);
	return 0;
}

#define CONTENDERS	16	/* past the 8 arenas malloc makes before it asks */
#define ROUNDS		20000

static pthread_barrier_t all;

/*
 * After the gate: a first malloc, held until every thread has made its
 * own (each needs an arena of its own then), then malloc and free.
 */
static void *
contend(void *arg)
{
	void *first;
	char c;

	(void)arg;
	if (read(gate[0], &c, 1) != 1)
		return NULL;
	first = malloc(64);
	pthread_barrier_wait(&all);
	free(first);
	for (int i = 0; i < ROUNDS; i++) {
		void *volatile p = malloc(64 + (size_t)i % 4096);

		free(p);
	}
	return NULL;
}

/*
 * Threads that first allocate once confined, all at once: malloc makes
 * them arenas, and must not open a file to learn how many it may.
 */
static int
arenas(void)
{
	struct audit_err e;
	pthread_t th[CONTENDERS];

	if (pipe(gate) != 0 || pthread_barrier_init(&all, NULL,
	    CONTENDERS + 1) != 0)
		return 5;
	for (int i = 0; i < CONTENDERS; i++)
		if (pthread_create(&th[i], NULL, contend, NULL) != 0)
			return 5;
	if (syscalls_confine("test", few, NFEW, &e) != 0)
		return 3;
	for (int i = 0; i < CONTENDERS + 1; i++)	/* and this thread */
		if (write(gate[1], "x", 1) != 1)
			return 6;
	contend(NULL);
	for (int i = 0; i < CONTENDERS; i++)
		pthread_join(th[i], NULL);
	return 0;
}

int
main(void)
{
	is_int(in_child(allowed_call), 0, "a call on the list is made");
	is_int(in_child(other_call), 128 + SIGSYS,
	    "a call off the list kills the process");
	is_int(in_child(other_thread), 128 + SIGSYS,
	    "so does one from a thread started before the filter");
	is_int(in_child(arenas), 0, "threads allocating at once, confined: "
	    "malloc's new arenas ask for nothing the filter refuses");
#if defined(__SANITIZE_ADDRESS__)
	/* The sanitizers' runtime's own list allows opening files. */
	skip("opening a file off the list: a sanitizer build allows it");
#else
	is_int(in_child(open_call), 0, "opening a file off the list fails "
	    "with EACCES, and the process goes on");
#endif
	is_int(in_child(twice), 0, "a call named twice is allowed once");
	is_int(in_child(net), 0, "no socket reaches a network (EACCES); a "
	    "local one is made");
	return done_testing();
}
