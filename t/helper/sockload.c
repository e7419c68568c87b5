/*
 * sockload: load a line server over a Unix socket in ways unixcat cannot.
 * A test helper; not installed.
 *
 *	sockload hold SOCKET N		open N connections and keep them all
 *					open; send the line read from stdin on
 *					each; print how many were answered
 *					(each waits up to 5 s)
 *	sockload hold-lines SOCKET N	the same, printing each connection's
 *					answer line instead ("-" for none)
 *	sockload stall SOCKET SECONDS	send stdin's lines but read nothing
 *					for SECONDS; then read every answer
 *					to stdout until the server closes
 *	sockload stall-until SOCKET FILE
 *					the same, reading nothing until FILE
 *					exists (at most 300 seconds)
 *	sockload trickle SOCKET RATE	send stdin's lines, and read every
 *					answer to stdout at RATE bytes a
 *					second, no faster
 *	sockload quiet SOCKET N FILE	open N connections that send nothing;
 *					print "open=K refused=R" (refused: told
 *					so and closed within 1 s); keep them
 *					until FILE exists (at most 300 s)
 *	sockload wait SOCKET TEXT	send TEXT (no newline added), read
 *					until the server closes; print what it
 *					said and "closed after N s", or "open
 *					after 20 s" and exit 1
 *
 * -u UID[:GID], first: connect as that uid (and gid: UID's number, or
 * GID), not as root.
 */
#define _GNU_SOURCE
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "num.h"
#include "xnum.h"

static int
dial(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		errx(2, "%s: path too long", path);
	strcpy(sa.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		err(2, "%s", path);
	return fd;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One line answered on fd within 5 s?  Its first bytes go to buf. */
static int
answered(int fd, char *buf, size_t bufsz)
{
	struct pollfd p = { fd, POLLIN, 0 };
	size_t len = 0;
	char c;

	buf[0] = '\0';
	for (;;) {
		if (poll(&p, 1, 5000) <= 0)
			return 0;
		if (read(fd, &c, 1) != 1)
			return 0;
		if (c == '\n')
			return 1;
		if (len + 1 < bufsz) {
			buf[len++] = c;
			buf[len] = '\0';
		}
	}
}

static int
hold(const char *path, int n, int lines)
{
	char answer[4096];
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int *fds, ok = 0;

	if ((len = getline(&line, &cap, stdin)) <= 0)
		errx(2, "hold: no request line on stdin");
	if ((fds = calloc((size_t)n, sizeof(*fds))) == NULL)
		err(2, "calloc");
	for (int i = 0; i < n; i++) {
		fds[i] = dial(path);
		/* A connection the server refused is closed, and the send
		 * fails if it was closed first; a line it said before closing
		 * is still there to read. */
		(void)send(fds[i], line, (size_t)len, MSG_NOSIGNAL);
		if (answered(fds[i], answer, sizeof(answer))) {
			ok++;
			if (lines)
				printf("%s\n", answer);
		} else if (lines)
			printf("-\n");
	}
	if (!lines)
		printf("%d\n", ok);
	for (int i = 0; i < n; i++)
		close(fds[i]);
	free(fds);
	free(line);
	return 0;
}

static int
stall(const char *path, double seconds, const char *until_file, double rate)
{
	static char in[1 << 20], out[1 << 16];
	size_t inlen = 0, inoff = 0;
	int fd = dial(path), eof = 0, shut = 0;
	double until = now() + seconds, taken = 0;
	ssize_t n;

	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	for (;;) {
		struct pollfd p = { fd, 0, 0 };
		int reading = now() >= until || (until_file != NULL &&
		    access(until_file, F_OK) == 0);
		size_t want = sizeof(out);

		if (inoff == inlen && !eof) {
			n = read(0, in, sizeof(in));
			if (n <= 0)
				eof = 1;
			else {
				inlen = (size_t)n;
				inoff = 0;
			}
		}
		if (inoff == inlen && eof && !shut) {
			shutdown(fd, SHUT_WR);
			shut = 1;
		}
		if (inoff < inlen)
			p.events |= POLLOUT;
		/* at rate, what may be read by now */
		if (rate > 0 && reading) {
			double may = (now() - until) * rate - taken;

			want = may < 1 ? 0 : may < sizeof(out) ? (size_t)may :
			    sizeof(out);
			reading = want > 0;
		}
		if (reading)
			p.events |= POLLIN;
		if (poll(&p, 1, rate > 0 ? 10 : 100) < 0 && errno != EINTR)
			err(2, "poll");
		if (p.revents & POLLOUT) {
			n = send(fd, in + inoff, inlen - inoff, MSG_NOSIGNAL);
			if (n < 0 && errno != EAGAIN)
				err(2, "send");
			if (n > 0)
				inoff += (size_t)n;
		}
		if (reading && (p.revents & (POLLIN | POLLHUP))) {
			n = read(fd, out, want);
			if (n > 0)
				taken += n;
			if (n == 0)
				return 0;
			if (n < 0 && errno != EAGAIN)
				err(2, "read");
			if (n > 0 && fwrite(out, 1, (size_t)n, stdout) !=
			    (size_t)n)
				err(2, "stdout");
		}
	}
}

/* Closed by the server within ms milliseconds?  What it said to out. */
static int
closed_within(int fd, int ms, FILE *out)
{
	char buf[4096];
	double until = now() + ms / 1000.;
	ssize_t n;

	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		int left = (int)((until - now()) * 1000);

		if (left <= 0 || poll(&p, 1, left) == 0)
			return 0;
		if ((n = read(fd, buf, sizeof(buf))) <= 0)
			return 1;
		if (out != NULL && (fwrite(buf, 1, (size_t)n, out) != (size_t)n ||
		    fflush(out) != 0))
			err(2, "stdout");
	}
}

static int
quiet(const char *path, int n, const char *until_file)
{
	int *fds, open = 0;

	if ((fds = calloc((size_t)n, sizeof(*fds))) == NULL)
		err(2, "calloc");
	for (int i = 0; i < n; i++)
		fds[i] = dial(path);
	for (int i = 0; i < n; i++)
		open += !closed_within(fds[i], i == 0 ? 1000 : 10, NULL);
	printf("open=%d refused=%d\n", open, n - open);
	fflush(stdout);
	for (int i = 0; i < 3000 && access(until_file, F_OK) != 0; i++)
		usleep(100000);
	for (int i = 0; i < n; i++)
		close(fds[i]);
	free(fds);
	return 0;
}

static int
wait_closed(const char *path, const char *text)
{
	int fd = dial(path);
	double t0 = now();

	/* Nothing to send: the server may have said its word and closed. */
	if (*text != '\0' && send(fd, text, strlen(text), MSG_NOSIGNAL) < 0)
		err(2, "send");
	if (!closed_within(fd, 20000, stdout)) {
		printf("open after 20 s\n");
		return 1;
	}
	printf("closed after %d s\n", (int)(now() - t0));
	return 0;
}

/* -u: the uid and gid of an agent, not root's. */
static void
become(const char *s)
{
	char buf[32], *colon;
	uid_t id;
	gid_t gid;

	snprintf(buf, sizeof(buf), "%s", s);
	if ((colon = strchr(buf, ':')) != NULL)
		*colon++ = '\0';
	id = (uid_t)xnum(buf, 1, 1 << 30);
	gid = colon != NULL ? (gid_t)xnum(colon, 1, 1 << 30) : id;
	if (setgroups(0, NULL) != 0 || setgid(gid) != 0 || setuid(id) != 0)
		err(2, "-u %s", s);
}

int
main(int argc, char **argv)
{
	if (argc > 2 && strcmp(argv[1], "-u") == 0) {
		become(argv[2]);
		argc -= 2;
		argv += 2;
	}
	if (argc == 5 && strcmp(argv[1], "quiet") == 0)
		return quiet(argv[2], (int)xnum(argv[3], 0, 100000), argv[4]);
	if (argc == 4 && strcmp(argv[1], "wait") == 0)
		return wait_closed(argv[2], argv[3]);
	if (argc == 4 && strcmp(argv[1], "hold") == 0)
		return hold(argv[2], (int)xnum(argv[3], 0, INT_MAX), 0);
	if (argc == 4 && strcmp(argv[1], "hold-lines") == 0)
		return hold(argv[2], (int)xnum(argv[3], 0, INT_MAX), 1);
	if (argc == 4 && strcmp(argv[1], "stall") == 0)
		return stall(argv[2], atof(argv[3]), NULL, 0);
	if (argc == 4 && strcmp(argv[1], "stall-until") == 0)
		return stall(argv[2], 300, argv[3], 0);
	if (argc == 4 && strcmp(argv[1], "trickle") == 0)
		return stall(argv[2], 0, NULL, (double)xnum(argv[3], 1,
		    INT_MAX));
	fprintf(stderr, "usage: sockload hold|hold-lines socket n | "
	    "sockload stall socket seconds | "
	    "sockload stall-until socket file | "
	    "sockload trickle socket rate | "
	    "sockload [-u uid[:gid]] quiet socket n file | "
	    "sockload wait socket text\n");
	return 2;
}
