/*
 * vsock-connect: a test helper.  Reach a guest port through a hybrid
 * vsock socket with the node's fc_vsock_connect; then send standard
 * input, close the sending half, and copy what comes back to standard
 * output until the peer closes.  Not installed.
 *
 *	vsock-connect SOCKET PORT DEADLINE-MS
 *
 * Exit status: 0 done, 1 not connected (the reason on standard error),
 * 2 usage or I/O error.
 */
#include <err.h>
#include <poll.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "node.h"
#include "xnum.h"

int
main(int argc, char **argv)
{
	struct audit_err e;
	struct pollfd pfd[2];
	char buf[4096];
	int fd, in_open = 1;
	ssize_t n;

	if (argc != 4) {
		fprintf(stderr, "usage: vsock-connect socket port "
		    "deadline-ms\n");
		return 2;
	}
	fd = fc_vsock_connect(argv[1], NULL, (unsigned)xnum(argv[2], 0, UINT_MAX),
	    (int)xnum(argv[3], 0, INT_MAX), &e);
	if (fd < 0)
		errx(1, "%s", e.msg);
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
