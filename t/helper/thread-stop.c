/*
 * thread-stop: hold one thread of a running program stopped, the others
 * running, as if that thread's work (a disk's sync, say) took as long as
 * a test likes.  The thread is the one named NAME (its comm) of PID; it
 * is stopped with ptrace (PTRACE_SEIZE, PTRACE_INTERRUPT), READY is
 * created once it is, and it runs again when this program gets SIGTERM
 * or SIGINT (or dies: the kernel then lets it go).
 *
 *	thread-stop PID NAME READY
 *
 * Exit 0 once let go; 1 on any failure (no such thread, no ptrace).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t let_go;

static void
on_signal(int sig)
{
	(void)sig;
	let_go = 1;
}

/* The thread of pid whose comm is name, or -1. */
static pid_t
find(const char *pid, const char *name)
{
	char path[512], comm[64];
	struct dirent *d;
	DIR *dir;
	pid_t tid = -1;

	snprintf(path, sizeof(path), "/proc/%s/task", pid);
	if ((dir = opendir(path)) == NULL)
		return -1;
	while (tid < 0 && (d = readdir(dir)) != NULL) {
		FILE *f;

		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/task/%s/comm", pid,
		    d->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		if (fgets(comm, sizeof(comm), f) != NULL) {
			comm[strcspn(comm, "\n")] = '\0';
			if (strcmp(comm, name) == 0)
				tid = (pid_t)atoi(d->d_name);
		}
		fclose(f);
	}
	closedir(dir);
	return tid;
}

int
main(int argc, char **argv)
{
	struct sigaction sa;
	sigset_t block, old;
	pid_t tid;
	int status, fd;

	if (argc != 4) {
		fprintf(stderr, "usage: thread-stop PID NAME READY\n");
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &old);
	if ((tid = find(argv[1], argv[2])) < 0) {
		fprintf(stderr, "thread-stop: no thread %s in %s\n", argv[2],
		    argv[1]);
		return 1;
	}
	if (ptrace(PTRACE_SEIZE, tid, NULL, NULL) != 0 ||
	    ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) != 0 ||
	    waitpid(tid, &status, __WALL) != tid || !WIFSTOPPED(status)) {
		fprintf(stderr, "thread-stop: %d: %s\n", (int)tid,
		    strerror(errno));
		return 1;
	}
	if ((fd = open(argv[3], O_WRONLY | O_CREAT | O_EXCL, 0644)) < 0) {
		fprintf(stderr, "thread-stop: %s: %s\n", argv[3],
		    strerror(errno));
		return 1;
	}
	close(fd);
	while (!let_go)
		sigsuspend(&old);
	if (ptrace(PTRACE_DETACH, tid, NULL, NULL) != 0) {
		fprintf(stderr, "thread-stop: detach %d: %s\n", (int)tid,
		    strerror(errno));
		return 1;
	}
	return 0;
}
