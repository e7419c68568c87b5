/*
 * try-syscall: a probe for the tests of the command sandbox, after
 * bubblewrap's tests/try-syscall.c.  Each word tries one thing and
 * prints "WORD ok" or "WORD errno-name"; the exit status is 0.
 *
 *	try-syscall socket-inet | socket-unix | write PATH | ptrace |
 *	    unshare | mount | clone-newuser | setuid0 | fork-bomb N
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
#include <sys/wait.h>
#include <unistd.h>

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

int
main(int argc, char **argv)
{
	static char stack[65536];
	int fd;

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
