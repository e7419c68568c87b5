/*
 * maxrss: run a command and print its peak resident set, in KiB, to the
 * file named by the first argument; exit with the command's status.  A
 * test helper, not installed.
 *
 *	maxrss OUTFILE command [arg ...]
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct rusage ru;
	int status;
	pid_t pid;
	FILE *f;

	if (argc < 3) {
		fprintf(stderr, "usage: maxrss outfile command [arg ...]\n");
		return 2;
	}
	if ((pid = fork()) < 0)
		err(2, "fork");
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		err(127, "%s", argv[2]);
	}
	if (wait4(pid, &status, 0, &ru) < 0)
		err(2, "wait4");
	if ((f = fopen(argv[1], "w")) == NULL)
		err(2, "%s", argv[1]);
	fprintf(f, "%ld\n", ru.ru_maxrss);
	fclose(f);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
