/*
 * A message and its descriptor (libdaemon/fdmsg.c), on a SOCK_SEQPACKET
 * pair as the proxy, the node and the gateway use them: one descriptor
 * passes; two, or one beside an empty message, are closed, never left
 * open in the receiver; a message without one says -1.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fdmsg.h"
#include "tap.h"

/* How many descriptors this process has open. */
static int
open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1;	/* the directory's own */
}

/* Two descriptors beside "two", as no side of ours sends. */
static int
send_two(int sock, int a, int b)
{
	char cbuf[CMSG_SPACE(2 * sizeof(int))];
	struct iovec iov = { "two", 3 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
	    .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	int fds[2] = { a, b };

	memset(cbuf, 0, sizeof(cbuf));
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(cm), fds, sizeof(fds));
	return (int)sendmsg(sock, &mh, 0);
}

int
main(void)
{
	int sv[2], p[2], fd, before;
	char buf[64];
	ssize_t n;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) != 0 || pipe(p) != 0)
		return ok(0, "no socket pair"), done_testing();
	is_int(fdmsg_send(sv[0], "one", 3, p[0]), 3, "a message and a "
	    "descriptor sent");
	n = fdmsg_recv(sv[1], buf, sizeof(buf), &fd);
	ok(n == 3 && memcmp(buf, "one", 3) == 0 && fd >= 0 &&
	    (fcntl(fd, F_GETFD) & FD_CLOEXEC), "received: its bytes and its "
	    "descriptor, close-on-exec");
	if (fd >= 0)
		close(fd);
	is_int(fdmsg_send(sv[0], "none", 4, -1), 4, "a message alone sent");
	n = fdmsg_recv(sv[1], buf, sizeof(buf), &fd);
	ok(n == 4 && fd == -1, "received: no descriptor, -1");
	before = open_fds();
	ok(send_two(sv[0], p[0], p[1]) == 3, "two descriptors sent");
	n = fdmsg_recv(sv[1], buf, sizeof(buf), &fd);
	ok(n == 3 && fd == -1 && open_fds() == before, "two received: "
	    "both closed, none given");
	before = open_fds();
	ok(fdmsg_send(sv[0], "", 0, p[0]) == 0, "an empty message with a "
	    "descriptor sent");
	n = fdmsg_recv(sv[1], buf, sizeof(buf), &fd);
	ok(n == 0 && fd == -1 && open_fds() == before, "received: closed, "
	    "none given (an empty message is the peer gone)");
	n = fdmsg_recv(sv[1], buf, sizeof(buf), &fd);
	ok(n < 0 && fd == -1, "nothing waiting: -1 at once, no descriptor");
	return done_testing();
}
