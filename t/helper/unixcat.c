/*
 * unixcat: a test helper.  Connect to a Unix socket, send standard input,
 * close the sending half, and copy what comes back to standard output
 * until the peer closes.  Not installed.
 *
 *	unixcat SOCKET
 */
#include <err.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct sockaddr_un sa;
	struct pollfd pfd[2];
	char buf[65536];
	int fd, in_open = 1;
	ssize_t n;

	if (argc != 2)
		errx(2, "usage: unixcat socket");
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", argv[1]);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		err(2, "%s", argv[1]);
	for (;;) {
		pfd[0].fd = in_open ? 0 : -1;
		pfd[0].events = POLLIN;
		pfd[1].fd = fd;
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, -1) < 0)
			err(2, "poll");
		if (in_open && (pfd[0].revents & (POLLIN | POLLHUP))) {
			if ((n = read(0, buf, sizeof(buf))) <= 0) {
				shutdown(fd, SHUT_WR);
				in_open = 0;
			} else if (write(fd, buf, (size_t)n) != n)
				err(2, "write");
		}
		if (pfd[1].revents & (POLLIN | POLLHUP)) {
			if ((n = read(fd, buf, sizeof(buf))) <= 0)
				return 0;
			if (write(1, buf, (size_t)n) != n)
				err(2, "stdout");
		}
	}
}
