/*
 * The host's end of Firecracker's hybrid vsock: reach a port in the
 * guest through the VMM's Unix socket.
 *
 *	host -> VMM	CONNECT <port>\n
 *	VMM -> host	OK <host port>\n	then the guest's stream
 *
 * Early in a pod's life each step can fail in a way that only means
 * "not yet": the socket does not exist or nobody listens on it (the VMM
 * is starting), the VMM closes the connection after CONNECT (nothing
 * listens on the port in the guest yet), or the OK never comes (a
 * CONNECT sent while the guest's vsock was coming up is lost).  Those
 * are retried with backoff until the caller's deadline.  Anything else
 * in place of OK is an error at once.
 *
 * The answer is read one byte at a time: what follows its newline is the
 * guest's, and must stay in the socket for the caller.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "node.h"
#include "sockaddr.h"

/* How one attempt ended. */
enum attempt {
	ATT_CONNECTED,
	ATT_REFUSED,	/* no socket, or nobody listening: retry */
	ATT_CLOSED,	/* closed or reset before any answer: retry */
	ATT_NO_OK,	/* no answer within the wait: retry */
	ATT_BAD,	/* an answer other than OK: fail */
	ATT_ERROR	/* anything else: fail */
};

/* "OK " and a decimal u32, nothing else. */
int
fc_vsock_answer_ok(const char *line, size_t len)
{
	unsigned long long v = 0;
	size_t i;

	if (len < 4 || len > 13 || memcmp(line, "OK ", 3) != 0)
		return 0;
	for (i = 3; i < len; i++) {
		if (line[i] < '0' || line[i] > '9')
			return 0;
		v = v * 10 + (unsigned)(line[i] - '0');
	}
	return v <= 0xffffffffULL;
}

/*
 * Read the answer line, byte by byte, until the newline, the end of the
 * wait (until, in monotonic milliseconds), or FC_VSOCK_LINE_MAX bytes.
 */
static enum attempt
read_answer(int fd, long long until, char *line, size_t *len)
{
	*len = 0;
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		long long left = until - audit_now_ms(CLOCK_MONOTONIC);
		ssize_t r;
		char c;

		if (left <= 0)
			return ATT_NO_OK;
		if (poll(&p, 1, (int)left) < 0) {
			if (errno == EINTR)
				continue;
			return ATT_ERROR;
		}
		if (p.revents == 0)
			continue;
		r = read(fd, &c, 1);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r == 0 || (r < 0 && errno == ECONNRESET))
			/* a partial answer, then closed: not Firecracker */
			return *len == 0 ? ATT_CLOSED : ATT_BAD;
		if (r < 0)
			return ATT_ERROR;
		if (c == '\n')
			return fc_vsock_answer_ok(line, *len) ? ATT_CONNECTED : ATT_BAD;
		line[(*len)++] = c;
		if (*len >= FC_VSOCK_LINE_MAX)
			return ATT_BAD;
	}
}

/* One attempt: connect, CONNECT, and the answer within wait_ms. */
static enum attempt
attempt(const struct sockaddr_un *sa, unsigned port, int wait_ms, int *fdp,
    char *line, size_t *len, int *errnum)
{
	long long until = audit_now_ms(CLOCK_MONOTONIC) + wait_ms;
	char req[32];
	enum attempt a;
	int fd, n;

	*len = 0;
	*errnum = 0;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*errnum = errno;
		return ATT_ERROR;
	}
	/* Non-blocking: a full backlog is EAGAIN, not a wait past the
	   deadline. */
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) != 0) {
		*errnum = errno;
		close(fd);
		return errno == ECONNREFUSED || errno == ENOENT ||
		    errno == EAGAIN ? ATT_REFUSED : ATT_ERROR;
	}
	n = snprintf(req, sizeof(req), "CONNECT %u\n", port);
	/* A few bytes into an empty socket buffer: written whole, or the
	   VMM has gone.  Never SIGPIPE. */
	if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
		*errnum = errno;
		close(fd);
		return errno == EPIPE || errno == ECONNRESET ? ATT_CLOSED :
		    ATT_ERROR;
	}
	a = read_answer(fd, until, line, len);
	if (a == ATT_ERROR)
		*errnum = errno;
	if (a != ATT_CONNECTED) {
		close(fd);
		return a;
	}
	/* The caller gets a blocking descriptor. */
	if ((n = fcntl(fd, F_GETFL)) < 0 ||
	    fcntl(fd, F_SETFL, n & ~O_NONBLOCK) != 0) {
		*errnum = errno;
		close(fd);
		return ATT_ERROR;
	}
	*fdp = fd;
	return ATT_CONNECTED;
}

/*
 * Connect to guest port `port' through the VMM's socket uds_path, within
 * deadline_ms.  Returns a connected, blocking, close-on-exec descriptor
 * whose next bytes are the guest's; or -1 and a message saying which:
 * refused, no OK within the deadline, or a bad answer, naming the socket
 * as `name' (the path the caller checked, when it connects through
 * /proc/self/fd; NULL: uds_path).
 */
int
fc_vsock_connect(const char *uds_path, const char *name, unsigned port,
    int deadline_ms, struct audit_err *err)
{
	struct sockaddr_un sa;
	long long end, left;
	char line[FC_VSOCK_LINE_MAX], shown[4 * FC_VSOCK_LINE_MAX + 1];
	int backoff = FC_VSOCK_BACKOFF_MIN_MS, tries = 0, fd = -1, errnum;
	size_t len;
	enum attempt a;

	if (sockaddr_un_fill(&sa, uds_path, err) != 0)
		return -1;
	if (name == NULL)
		name = uds_path;
	if (deadline_ms < 1)
		deadline_ms = 1;
	end = audit_now_ms(CLOCK_MONOTONIC) + deadline_ms;
	for (;;) {
		left = end - audit_now_ms(CLOCK_MONOTONIC);
		tries++;
		a = attempt(&sa, port, left < FC_VSOCK_OK_MS ? (int)left :
		    FC_VSOCK_OK_MS, &fd, line, &len, &errnum);
		if (a == ATT_CONNECTED)
			return fd;
		if (a == ATT_BAD || a == ATT_ERROR)
			break;
		left = end - audit_now_ms(CLOCK_MONOTONIC);
		if (left <= 0)
			break;
		poll(NULL, 0, backoff < left ? backoff : (int)left);
		if (end - audit_now_ms(CLOCK_MONOTONIC) <= 0)
			break;
		backoff = backoff * 2 > FC_VSOCK_BACKOFF_MAX_MS ?
		    FC_VSOCK_BACKOFF_MAX_MS : backoff * 2;
	}
	switch (a) {
	case ATT_BAD:
		audit_escape(shown, sizeof(shown), line, len);
		return audit_errf(err, "vsock %.100s port %u: bad answer "
		    "\"%s\"", name, port, shown);
	case ATT_NO_OK:
		return audit_errf(err, "vsock %.100s port %u: no OK within "
		    "%d ms (%d attempts)", name, port, deadline_ms, tries);
	case ATT_CLOSED:
		return audit_errf(err, "vsock %.100s port %u: refused for %d "
		    "ms (%d attempts): closed after CONNECT, nothing listening "
		    "in the guest", name, port, deadline_ms, tries);
	case ATT_REFUSED:
		return audit_errf(err, "vsock %.100s port %u: refused for %d "
		    "ms (%d attempts): %s", name, port, deadline_ms, tries,
		    strerror(errnum));
	default:
		return audit_errf(err, "vsock %.100s port %u: %s", name, port,
		    strerror(errnum));
	}
}
