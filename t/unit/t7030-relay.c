/*
 * The byte relay (libdaemon/relay.c), as the gateway runs it: a TCP
 * connection on one side, a Unix stream socket on the other.  Each way
 * splices through its pipe (the bytes never pass through user space),
 * every byte arrives in order both ways at once, EOF is passed on, the
 * TCP end gets TCP_NODELAY; a relay whose pipes would take descriptors
 * at RELAY_SPLICE_FD_MAX or above copies instead, as correctly; and a
 * reader that stops slows the writer (nothing grows).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "relay.h"
#include "tap.h"

#define BYTES	(6 * 1024 * 1024)

/* One end of the test: writes BYTES of a pattern, reads what comes. */
struct end {
	int	 fd;
	uint8_t	 seed;		/* what it writes: i * 7 + seed */
	uint8_t	 want;		/* what it expects from the other */
	size_t	 got;
	int	 bad;
	pthread_t wth;
};

static uint8_t
pattern(size_t i, uint8_t seed)
{
	return (uint8_t)(i * 7 + seed + (i >> 13));
}

static void *
end_write(void *arg)
{
	struct end *e = arg;
	static __thread uint8_t buf[65536];
	size_t off = 0;

	while (off < BYTES) {
		size_t n = BYTES - off < sizeof(buf) ? BYTES - off :
		    sizeof(buf);
		ssize_t w;

		for (size_t i = 0; i < n; i++)
			buf[i] = pattern(off + i, e->seed);
		for (size_t done = 0; done < n; done += (size_t)w)
			if ((w = write(e->fd, buf + done, n - done)) <= 0)
				return NULL;
		off += n;
	}
	shutdown(e->fd, SHUT_WR);
	return NULL;
}

/* Read until EOF, checking each byte. */
static void *
end_read(void *arg)
{
	struct end *e = arg;
	uint8_t buf[65536];
	ssize_t n;

	while ((n = read(e->fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != pattern(e->got + (size_t)i, e->want))
				e->bad = 1;
		e->got += (size_t)n;
	}
	return NULL;
}

/* A connected TCP pair on the loopback: *a the client's, *b accepted. */
static int
tcp_pair(int *a, int *b)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (l < 0 || bind(l, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    listen(l, 1) != 0 || getsockname(l, (struct sockaddr *)&sin,
	    &len) != 0 || (*a = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC,
	    0)) < 0 || connect(*a, (struct sockaddr *)&sin, len) != 0 ||
	    (*b = accept4(l, NULL, NULL, SOCK_CLOEXEC)) < 0) {
		if (l >= 0)
			close(l);
		return -1;
	}
	close(l);
	return 0;
}

static int ended;
static const char *how;

static void
relay_done(struct relay *r, void *arg)
{
	(void)arg;
	how = r->how;
	ended = 1;
}

struct pair {
	struct end far_tcp, far_unix;
	pthread_t rth[2];
};

/*
 * A relay between a TCP end and a Unix end (their far ends driven by
 * threads: each writes BYTES and reads the other's); *splicing set to
 * how many ways spliced, *nodelay to the TCP end's TCP_NODELAY.
 */
static int
run(struct relay *r, int *splicing, int *nodelay, int *good)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct pair p;
	int tcp_near, u[2];
	socklen_t len = sizeof(*nodelay);

	memset(&p, 0, sizeof(p));
	ended = 0;
	how = NULL;
	if (tcp_pair(&p.far_tcp.fd, &tcp_near) != 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, u) != 0)
		return -1;
	p.far_unix.fd = u[1];
	p.far_tcp.seed = 1;
	p.far_tcp.want = 2;
	p.far_unix.seed = 2;
	p.far_unix.want = 1;
	relay_start(r, loop, u[0], tcp_near, relay_done, NULL);
	*splicing = relay_splicing(r, 0) + relay_splicing(r, 1);
	*nodelay = 0;
	(void)getsockopt(tcp_near, IPPROTO_TCP, TCP_NODELAY, nodelay, &len);
	pthread_create(&p.far_tcp.wth, NULL, end_write, &p.far_tcp);
	pthread_create(&p.far_unix.wth, NULL, end_write, &p.far_unix);
	pthread_create(&p.rth[0], NULL, end_read, &p.far_tcp);
	pthread_create(&p.rth[1], NULL, end_read, &p.far_unix);
	while (!ended)
		ev_run(loop, EVRUN_ONCE);
	pthread_join(p.far_tcp.wth, NULL);
	pthread_join(p.far_unix.wth, NULL);
	pthread_join(p.rth[0], NULL);
	pthread_join(p.rth[1], NULL);
	*good = p.far_tcp.got == BYTES && p.far_unix.got == BYTES &&
	    !p.far_tcp.bad && !p.far_unix.bad && how != NULL &&
	    strcmp(how, "eof") == 0 && r->way[0].bytes == BYTES &&
	    r->way[1].bytes == BYTES;
	if (!*good)
		diag("got %zu and %zu of %d (bad %d %d), how %s, bytes %llu "
		    "%llu", p.far_tcp.got, p.far_unix.got, BYTES,
		    p.far_tcp.bad, p.far_unix.bad, how != NULL ? how : "-",
		    (unsigned long long)r->way[0].bytes,
		    (unsigned long long)r->way[1].bytes);
	close(p.far_tcp.fd);
	close(p.far_unix.fd);
	ev_loop_destroy(loop);
	return 0;
}

static void
splicing(void)
{
	static struct relay r;
	int n, nodelay, good;

	if (run(&r, &n, &nodelay, &good) != 0) {
		ok(0, "no loopback TCP or socket pair");
		return;
	}
	is_int(n, 2, "both ways splice through a pipe");
	ok(nodelay, "the TCP end has TCP_NODELAY");
	ok(good, "%d bytes each way at once, in order; EOF passed on both "
	    "ways; the relay ends \"eof\" with the counts", BYTES);
}

/* Descriptors taken up to RELAY_SPLICE_FD_MAX: the relay copies. */
static void
copying(void)
{
	static struct relay r;
	int held[RELAY_SPLICE_FD_MAX], nheld = 0, n, nodelay, good, fd;

	while ((fd = dup(0)) >= 0 && fd < RELAY_SPLICE_FD_MAX - 4 &&
	    nheld < RELAY_SPLICE_FD_MAX)
		held[nheld++] = fd;
	if (fd >= 0)
		close(fd);
	/* The relay's sockets take the last ones below the limit: its
	 * pipes would be at or above it. */
	if (run(&r, &n, &nodelay, &good) != 0) {
		ok(0, "no loopback TCP or socket pair");
		return;
	}
	is_int(n, 0, "with descriptors at RELAY_SPLICE_FD_MAX taken, "
	    "neither way splices");
	ok(good, "copying: %d bytes each way, in order, EOF passed on",
	    BYTES);
	while (nheld > 0)
		close(held[--nheld]);
}

/* The far reader stops: the relay stops reading; the writer waits. */
static void
bounded(void)
{
	static struct relay r;
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	static uint8_t buf[65536];
	int a[2], b[2], stalled = 0;
	size_t sent = 0;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, a) != 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, b) != 0) {
		ok(0, "no socket pairs");
		return;
	}
	relay_start(&r, loop, a[0], b[0], relay_done, NULL);
	(void)fcntl(a[1], F_SETFL, O_NONBLOCK);
	/* a[1] writes; nobody reads b[1]. */
	for (int i = 0; i < 10000 && !stalled; i++) {
		ssize_t w = write(a[1], buf, sizeof(buf));

		if (w > 0)
			sent += (size_t)w;
		else if (errno == EAGAIN) {
			/* Full, unless the relay moves more on. */
			ev_run(loop, EVRUN_NOWAIT);
			if (write(a[1], buf, 1) < 0 && errno == EAGAIN)
				stalled = 1;
		}
		ev_run(loop, EVRUN_NOWAIT);
	}
	ok(stalled && sent < 64u * 1024 * 1024, "a reader that stops: the "
	    "writer is held after %zu bytes (the relay reads only into "
	    "room)", sent);
	relay_stop(&r);
	ok(ended && strcmp(how, "closed") == 0, "relay_stop ends it "
	    "\"closed\"");
	close(a[1]);
	close(b[1]);
	ev_loop_destroy(loop);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);	/* as relay.h asks */
	splicing();
	copying();
	bounded();
	return done_testing();
}
