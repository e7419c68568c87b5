/*
 * try-syscall: a probe for the tests of the command sandbox, after
 * bubblewrap's tests/try-syscall.c.  Each word tries one thing and
 * prints "WORD ok" or "WORD errno-name"; the exit status is 0.
 *
 *	try-syscall socket-inet | socket-unix | write PATH | ptrace |
 *	    unshare | mount | clone-newuser | setuid0 | fork-bomb N |
 *	    filter-of PID | open PATH | link OLD NEW | rename OLD NEW
 *
 * (open, link and rename by openat, linkat and renameat.)
 *
 * filter-of takes on the seccomp filters of process PID (read with
 * ptrace, as root): the words after it are tried as that process would
 * try them.  A call its filter kills ends this one (SIGSYS).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/filter.h>
#include <linux/seccomp.h>

#define FILTERS_MAX	16
#define FILTER_LEN_MAX	4096	/* BPF_MAXINSNS */

static void
say(const char *what, int rc)
{
	printf("%s %s\n", what, rc == 0 ? "ok" : strerrorname_np(errno));
}

static int
child_fn(void *arg)
{
	(void)arg;
	return 0;
}

/* Process pid's filters, oldest first, installed on this process. */
static int
filter_of(pid_t pid)
{
	static struct sock_filter insns[FILTERS_MAX][FILTER_LEN_MAX];
	long lens[FILTERS_MAX];
	int n = 0, st, rc = 0;

	if (ptrace(PTRACE_SEIZE, pid, NULL, NULL) != 0 ||
	    ptrace(PTRACE_INTERRUPT, pid, NULL, NULL) != 0 ||
	    waitpid(pid, &st, __WALL) != pid)
		return -1;
	for (; n < FILTERS_MAX; n++) {
		lens[n] = ptrace(PTRACE_SECCOMP_GET_FILTER, pid, (void *)(long)n,
		    NULL);
		if (lens[n] <= 0 || lens[n] > FILTER_LEN_MAX)
			break;
		if (ptrace(PTRACE_SECCOMP_GET_FILTER, pid, (void *)(long)n,
		    insns[n]) != lens[n]) {
			rc = -1;
			break;
		}
	}
	(void)ptrace(PTRACE_DETACH, pid, NULL, NULL);
	if (rc != 0 || n == 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return -1;
	fflush(stdout);
	while (n-- > 0) {
		struct sock_fprog prog = { (unsigned short)lens[n], insns[n] };

		if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
			return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static char stack[65536], out[4096];
	int fd;

	/* Its buffer given: no fstat for one, under another's filter. */
	setvbuf(stdout, out, _IOLBF, sizeof(out));

	for (int i = 1; i < argc; i++) {
		const char *w = argv[i];

		if (strcmp(w, "socket-inet") == 0) {
			fd = socket(AF_INET, SOCK_STREAM, 0);
			say(w, fd < 0 ? -1 : 0);
		} else if (strcmp(w, "socket-unix") == 0) {
			fd = socket(AF_UNIX, SOCK_STREAM, 0);
			say(w, fd < 0 ? -1 : 0);
		} else if (strcmp(w, "write") == 0 && i + 1 < argc) {
			fd = open(argv[++i], O_WRONLY | O_CREAT | O_TRUNC, 0644);
			say(w, fd < 0 ? -1 : 0);
		} else if (strcmp(w, "filter-of") == 0 && i + 1 < argc)
			say(w, filter_of((pid_t)atoi(argv[++i])));
		else if (strcmp(w, "open") == 0 && i + 1 < argc) {
			fd = open(argv[++i], O_RDONLY);
			say(w, fd < 0 ? -1 : 0);
		} else if (strcmp(w, "link") == 0 && i + 2 < argc) {
			i += 2;
			say(w, linkat(AT_FDCWD, argv[i - 1], AT_FDCWD, argv[i], 0));
		} else if (strcmp(w, "rename") == 0 && i + 2 < argc) {
			i += 2;
			say(w, renameat(AT_FDCWD, argv[i - 1], AT_FDCWD, argv[i]));
		} else if (strcmp(w, "ptrace") == 0)
			say(w, ptrace(PTRACE_TRACEME, 0, NULL, NULL) < 0 ?
			    -1 : 0);
		else if (strcmp(w, "unshare") == 0)
			say(w, unshare(CLONE_NEWUTS));
		else if (strcmp(w, "mount") == 0)
			say(w, mount("none", "/tmp", "tmpfs", 0, NULL));
		else if (strcmp(w, "clone-newuser") == 0) {
			pid_t p = clone(child_fn, stack + sizeof(stack),
			    CLONE_NEWUSER | SIGCHLD, NULL);

			if (p > 0)
				waitpid(p, NULL, 0);
			say(w, p < 0 ? -1 : 0);
		} else if (strcmp(w, "setuid0") == 0)
			say(w, setuid(0));
		else if (strcmp(w, "fork-bomb") == 0 && i + 1 < argc) {
			int n = atoi(argv[++i]), made = 0;

			for (int k = 0; k < n; k++) {
				pid_t p = fork();

				if (p == 0) {
					pause();
					_exit(0);
				}
				if (p < 0)
					break;
				made++;
			}
			printf("fork-bomb %d\n", made);
		} else {
			fprintf(stderr, "try-syscall: %s?\n", w);
			return 2;
		}
		fflush(stdout);
	}
	return 0;
}
