/*
 * pod-probe: small probes run inside a pod, by the pod's proxy, to show
 * what the sandbox lets a command do.  A test helper, not installed;
 * built without the sanitizers, since it runs under the command
 * sandbox's address-space limit (as try-syscall does).  Each prints
 * what it saw, one "what result" line at a time, and exits 0 unless
 * it could not look.
 *
 *	pod-probe hog MIB	allocate and touch MIB MiB, 1 MiB at a time;
 *				"allocated MIB" if it was not killed first
 *	pod-probe forkbomb	fork children that wait, until fork fails;
 *				"forks N", "error ENAME"; the children are
 *				killed and reaped before it exits
 *	pod-probe killall	kill(-1, SIGKILL), then SIGKILL to its
 *				parent and to every other process it sees
 *				in /proc: "kill -1 RESULT", "kill ppid
 *				RESULT", "kill PID COMM RESULT" ("self"
 *				for a PID that its own PID namespace
 *				gives it)
 *	pod-probe procs PID	each process in /proc, "proc PID COMM"; then
 *				"kill PID RESULT" for signal 0 to PID (a
 *				host process: ESRCH if it cannot be seen)
 *	pod-probe net		"if NAME" for each interface of
 *				/proc/net/dev; "route N" for the routes
 *	pod-probe rofs PATH...	"create PATH RESULT" for a new file in each
 *				directory PATH
 *
 * RESULT is "ok" or the errno's name.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define FORKS_MAX	65536

static const char *
result(int rc)
{
	const char *name;

	if (rc == 0)
		return "ok";
	name = strerrorname_np(errno);
	return name != NULL ? name : "unknown";
}

static int
hog(long mib)
{
	for (long i = 0; i < mib; i++) {
		char *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED) {
			printf("mmap %s at %ld\n", result(-1), i);
			return 0;
		}
		/* Touched, so that it is charged, not just reserved. */
		for (size_t off = 0; off < 1 << 20; off += 4096)
			p[off] = 1;
	}
	printf("allocated %ld\n", mib);
	return 0;
}

static int
forkbomb(void)
{
	static pid_t kids[FORKS_MAX];
	int n = 0, status;
	pid_t pid = 0;

	while (n < FORKS_MAX && (pid = fork()) > 0)
		kids[n++] = pid;
	if (pid == 0) {
		pause();
		_exit(0);
	}
	printf("forks %d\nerror %s\n", n, n == FORKS_MAX ? "none" :
	    result(-1));
	fflush(stdout);
	for (int i = 0; i < n; i++)
		kill(kids[i], SIGKILL);
	for (int i = 0; i < n; i++)
		(void)waitpid(kids[i], &status, 0);
	return 0;
}

/* The command name of process pid, or "" when it is gone. */
static void
comm_of(const char *pid, char *buf, size_t sz)
{
	char path[300];
	FILE *f;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%s/comm", pid);
	if ((f = fopen(path, "re")) == NULL)
		return;
	if (fgets(buf, (int)sz, f) == NULL)
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
}

/* Each process in /proc but this one: fn(pid, comm). */
static int
each_process(void (*fn)(const char *, const char *))
{
	char self[32], comm[64];
	struct dirent *d;
	DIR *dir;

	ssize_t n;

	/* As /proc names it: a command's own PID namespace numbers it 2. */
	if ((n = readlink("/proc/self", self, sizeof(self) - 1)) < 0) {
		perror("/proc/self");
		return 2;
	}
	self[n] = '\0';
	if ((dir = opendir("/proc")) == NULL) {
		perror("/proc");
		return 2;
	}
	while ((d = readdir(dir)) != NULL) {
		if (!isdigit((unsigned char)d->d_name[0]) ||
		    strcmp(d->d_name, self) == 0)
			continue;
		comm_of(d->d_name, comm, sizeof(comm));
		fn(d->d_name, comm);
	}
	closedir(dir);
	return 0;
}

static void
kill_one(const char *pid, const char *comm)
{
	/* A pid of the pod's /proc that is this one's own in its namespace. */
	if (atoi(pid) == (int)getpid()) {
		printf("kill %s %s self\n", pid, comm);
		return;
	}
	printf("kill %s %s %s\n", pid, comm, result(kill(atoi(pid),
	    SIGKILL)));
}

static int
killall(void)
{
	printf("kill -1 %s\n", result(kill(-1, SIGKILL)));
	printf("kill ppid %s\n", result(kill(getppid(), SIGKILL)));
	return each_process(kill_one);
}

static void
show_one(const char *pid, const char *comm)
{
	printf("proc %s %s\n", pid, comm);
}

static int
procs(const char *host_pid)
{
	int rc = each_process(show_one);

	printf("kill %s %s\n", host_pid, result(kill(atoi(host_pid), 0)));
	return rc;
}

static int
net(void)
{
	char line[512];
	int n = 0, routes = -1;
	FILE *f;

	if ((f = fopen("/proc/net/dev", "re")) == NULL) {
		perror("/proc/net/dev");
		return 2;
	}
	while (fgets(line, sizeof(line), f) != NULL)
		if (++n > 2) {
			char *name = line + strspn(line, " ");

			name[strcspn(name, ":")] = '\0';
			printf("if %s\n", name);
		}
	fclose(f);
	if ((f = fopen("/proc/net/route", "re")) == NULL) {
		perror("/proc/net/route");
		return 2;
	}
	while (fgets(line, sizeof(line), f) != NULL)
		routes++;
	fclose(f);
	printf("route %d\n", routes);
	return 0;
}

static int
rofs(int n, char **dirs)
{
	char path[4096];

	for (int i = 0; i < n; i++) {
		int fd;

		snprintf(path, sizeof(path), "%s/pod-probe.%d", dirs[i],
		    (int)getpid());
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		printf("create %s %s\n", dirs[i], result(fd < 0 ? -1 : 0));
		if (fd >= 0) {
			close(fd);
			unlink(path);
		}
	}
	return 0;
}

int
main(int argc, char **argv)
{
	int rc = 2;

	if (argc == 3 && strcmp(argv[1], "hog") == 0)
		rc = hog(atol(argv[2]));
	else if (argc == 2 && strcmp(argv[1], "forkbomb") == 0)
		rc = forkbomb();
	else if (argc == 2 && strcmp(argv[1], "killall") == 0)
		rc = killall();
	else if (argc == 3 && strcmp(argv[1], "procs") == 0)
		rc = procs(argv[2]);
	else if (argc == 2 && strcmp(argv[1], "net") == 0)
		rc = net();
	else if (argc >= 3 && strcmp(argv[1], "rofs") == 0)
		rc = rofs(argc - 2, argv + 2);
	else
		fprintf(stderr, "usage: pod-probe hog mib | forkbomb | "
		    "killall | procs pid | net | rofs dir...\n");
	fflush(stdout);
	return rc;
}
