/*
 * pair-run: run a command with one end of a socketpair as its fd 3, and
 * talk to it through the other: standard input in (then the sending half
 * closed), what comes back out, until it closes.  A test helper for
 * programs that serve an inherited socket.  Not installed.
 *
 * Once the command closes its end, it has 10 s to exit; pair-run exits
 * with its status, or 124 (after killing it) if it did not.
 *
 *	pair-run command [arg ...]
 */
#include <err.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct pollfd pfd[2];
	char buf[65536];
	int sv[2], in_open = 1, status;
	ssize_t n;
	pid_t pid;

	if (argc < 2)
		errx(2, "usage: pair-run command [arg ...]");
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		err(2, "socketpair");
	if ((pid = fork()) == 0) {
		close(sv[0]);
		if (dup2(sv[1], 3) < 0)
			_exit(127);
		execvp(argv[1], argv + 1);
		_exit(127);
	}
	close(sv[1]);
	for (;;) {
		pfd[0].fd = in_open ? 0 : -1;
		pfd[0].events = POLLIN;
		pfd[1].fd = sv[0];
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, 30000) <= 0)
			break;
		if (in_open && (pfd[0].revents & (POLLIN | POLLHUP))) {
			if ((n = read(0, buf, sizeof(buf))) <= 0) {
				shutdown(sv[0], SHUT_WR);
				in_open = 0;
			} else if (write(sv[0], buf, (size_t)n) != n)
				break;
		}
		if (pfd[1].revents & (POLLIN | POLLHUP)) {
			if ((n = read(sv[0], buf, sizeof(buf))) <= 0)
				break;
			if (write(1, buf, (size_t)n) != n)
				break;
		}
	}
	for (int i = 0; i < 1000; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 +
			    WTERMSIG(status);
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return 124;
}
