/*
 * The line server (lines.c), its bounds in number, time and memory
 * crossed with small limits: the reserve only privileged peers take,
 * the idle and slow-line deadlines, reading stopped past outbuf_total
 * across connections, and the biggest holder closed past outbuf_shed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lines.h"
#include "tap.h"

#define ANSWER	(100 * 1000)		/* bytes of an answer */
#define BIG	(3 * 1000 * 1000)	/* bytes of the answer to "big" */

static struct lines srv;
static char path[108], *answer;
static int privileged_now;

static void
on_line(struct lines_conn *c, const char *p, size_t n)
{
	lines_send_raw(c, answer, n == 3 && memcmp(p, "big", 3) == 0 ? BIG :
	    ANSWER);
}

static void
on_overlong(struct lines_conn *c, size_t n, const uint8_t *h)
{
	(void)c;
	(void)n;
	(void)h;
}

static int
privileged(const struct lines *s, int listener, uid_t uid)
{
	(void)s;
	(void)listener;
	(void)uid;
	return privileged_now;
}

static const struct lines_ops ops = {
	.line = on_line,
	.overlong = on_overlong,
	.privileged = privileged,
	.inflight_max = { 64 },
};

/* The loop, for about ms milliseconds. */
static void
spin(int ms)
{
	for (int i = 0; i < ms; i++) {
		ev_run(srv.loop, EVRUN_NOWAIT);
		usleep(1000);
	}
}

static int
dial(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);

	strcpy(sa.sun_path, path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		return -1;
	spin(20);
	return fd;
}

/* What the server said on fd, up to n bytes; *eof if it closed. */
static size_t
drain(int fd, char *buf, size_t n, int *eof)
{
	size_t len = 0;
	ssize_t r;

	*eof = 0;
	while (len < n && (r = read(fd, buf + len, n - len)) != 0) {
		if (r < 0)
			return len;
		len += (size_t)r;
	}
	*eof = len < n;
	return len;
}

static void
number(void)
{
	char buf[256];
	int fd[5], eof;

	for (int i = 0; i < 3; i++)
		fd[i] = dial();
	ok(drain(fd[1], buf, sizeof(buf), &eof) == 0 && !eof,
	    "conns_max peers are served");
	ok(drain(fd[2], buf, sizeof(buf), &eof) > 0 && eof &&
	    strstr(buf, "too many connections") != NULL,
	    "the next one not privileged is turned away");
	privileged_now = 1;
	fd[3] = dial();
	fd[4] = dial();
	ok(drain(fd[3], buf, sizeof(buf), &eof) == 0 && !eof,
	    "a privileged one takes the reserve");
	ok(drain(fd[4], buf, sizeof(buf), &eof) > 0 && eof,
	    "and none past it");
	privileged_now = 0;
	for (int i = 0; i < 5; i++)
		close(fd[i]);
	spin(20);
	is_int(srv.nconns, 0, "all closed");
}

static void
deadlines(void)
{
	char buf[256];
	int quiet = dial(), half = dial(), eof;

	(void)!write(half, "{\"type\":", 8);
	spin(100);
	ok(drain(quiet, buf, sizeof(buf), &eof) == 0 && !eof,
	    "a quiet connection stays within idle_s");
	spin(400);
	ok(drain(quiet, buf, sizeof(buf), &eof) == 0 && eof,
	    "and is closed past it, told nothing");
	memset(buf, 0, sizeof(buf));
	ok(drain(half, buf, sizeof(buf) - 1, &eof) > 0 && eof &&
	    strstr(buf, "the line did not end in time") != NULL,
	    "a half line is cut off past line_s, and told so");
	close(quiet);
	close(half);
	spin(20);
}

/* n lines of "x" to fd; read nothing. */
static void
ask(int fd, int n)
{
	for (int i = 0; i < n; i++)
		(void)!write(fd, "x\n", 2);
	spin(50);
}

static void
memory(void)
{
	static char buf[BIG];
	size_t got = 0;
	int a, b, c, eof;

	srv.conns_max = 8;
	a = dial();
	b = dial();
	ask(a, 40);
	ask(b, 40);
	diag("unsent, all connections: %zu", srv.outbuf_held);
	ok(srv.outbuf_held <= srv.outbuf_total + 2 * ANSWER,
	    "past outbuf_total, connections holding answers are not read");
	ok(srv.outbuf_held > 0, "(each holds some)");
	c = dial();
	(void)!write(c, "big\n", 4);
	spin(50);
	is_int(srv.nconns, 2, "past outbuf_shed, the biggest holder is closed");
	ok(srv.outbuf_held <= srv.outbuf_shed, "and the total is within it");
	ok(drain(c, buf, sizeof(buf), &eof) < BIG && eof,
	    "its peer sees the end, not the whole answer");
	for (int i = 0; i < 400 && got < 40 * (ANSWER + 1); i++) {
		got += drain(a, buf, sizeof(buf), &eof);
		spin(5);
	}
	is_int((long long)got, 40 * (ANSWER + 1),
	    "a peer that reads gets every answer: it is read again");
	close(a);
	close(b);
	close(c);
	spin(20);
}

int
main(void)
{
	struct audit_err e;
	char dir[] = "/tmp/t1107.XXXXXX";

	signal(SIGPIPE, SIG_IGN);
	if (mkdtemp(dir) == NULL || (answer = malloc(BIG)) == NULL)
		return 2;
	memset(answer, 'x', BIG);
	snprintf(path, sizeof(path), "%s/s", dir);
	srv.loop = ev_loop_new(EVFLAG_AUTO);
	srv.ops = &ops;
	srv.line_max = 1024;
	srv.outbuf_max = 4 * 1000 * 1000;
	srv.outbuf_total = 1000 * 1000;
	srv.outbuf_shed = 2 * 1000 * 1000;
	srv.conns_max = 2;
	srv.conns_reserve = 1;
	srv.idle_s = 0.3;
	srv.line_s = 0.3;
	if (lines_listen_unix(&srv, 0, path, (gid_t)-1, &e) != 0) {
		diag("%s", e.msg);
		return 2;
	}
	number();
	deadlines();
	srv.idle_s = srv.line_s = 0;
	memory();
	unlink(path);
	rmdir(dir);
	free(answer);
	ev_loop_destroy(srv.loop);
	return done_testing();
}
