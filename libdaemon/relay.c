/*
 * A byte relay between two sockets (relay.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "relay.h"

static void way_read(struct ev_loop *, ev_io *, int);
static void way_write(struct ev_loop *, ev_io *, int);

#define SPLICE_FLAGS	(SPLICE_F_MOVE | SPLICE_F_NONBLOCK)

static int
splicing(const struct relay_way *w)
{
	return w->pipe[0] >= 0;
}

static void
pipe_close(struct relay_way *w)
{
	if (w->pipe[0] >= 0) {
		close(w->pipe[0]);
		close(w->pipe[1]);
	}
	w->pipe[0] = w->pipe[1] = -1;
}

/* A way's pipe, when descriptors are plenty; else it copies. */
static void
pipe_open(struct relay_way *w)
{
	int cap;

	w->pipe[0] = w->pipe[1] = -1;
	if (pipe2(w->pipe, O_NONBLOCK | O_CLOEXEC) != 0) {
		w->pipe[0] = w->pipe[1] = -1;
		return;
	}
	if (w->pipe[0] >= RELAY_SPLICE_FD_MAX ||
	    w->pipe[1] >= RELAY_SPLICE_FD_MAX) {
		pipe_close(w);
		return;
	}
	/* The size asked for, or what the pipe has (the owner's pipe
	 * pages may be spent). */
	if ((cap = fcntl(w->pipe[1], F_SETPIPE_SZ, RELAY_PIPE)) < 0)
		cap = fcntl(w->pipe[1], F_GETPIPE_SZ);
	if (cap <= 0) {
		pipe_close(w);
		return;
	}
	w->cap = (size_t)cap;
}

/* Room for more from the reading side. */
static size_t
room(const struct relay_way *w)
{
	if (splicing(w))
		return w->full ? 0 : w->cap - w->len;
	return RELAY_BUF - w->len;
}

static void
finish(struct relay *r, const char *how)
{
	if (r->fds[0] < 0)
		return;
	r->how = how;
	for (int i = 0; i < 2; i++) {
		ev_io_stop(r->loop, &r->way[i].rio);
		ev_io_stop(r->loop, &r->way[i].wio);
	}
	ev_timer_stop(r->loop, &r->idle);
	for (int i = 0; i < 2; i++)
		pipe_close(&r->way[i]);
	close(r->fds[0]);
	close(r->fds[1]);
	r->fds[0] = r->fds[1] = -1;
	r->done(r, r->arg);
}

/* Watch for what each way can do next. */
static void
arm(struct relay_way *w)
{
	struct ev_loop *loop = w->r->loop;

	if (!w->eof && room(w) > 0)
		ev_io_start(loop, &w->rio);
	else
		ev_io_stop(loop, &w->rio);
	if (w->len > w->off)
		ev_io_start(loop, &w->wio);
	else
		ev_io_stop(loop, &w->wio);
}

static void
check_done(struct relay *r)
{
	for (int i = 0; i < 2; i++) {
		struct relay_way *w = &r->way[i];

		if (w->eof && w->off == w->len && !w->done) {
			(void)shutdown(w->to, SHUT_WR);
			w->done = 1;
		}
	}
	if (r->way[0].done && r->way[1].done)
		finish(r, "eof");
}

/* Pipe to socket: 0, or -1 with the relay finished. */
static int
flush_pipe(struct relay_way *w)
{
	while (w->len > 0) {
		ssize_t n = splice(w->pipe[0], NULL, w->to, NULL, w->len,
		    SPLICE_FLAGS);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			finish(w->r, "error");
			return -1;
		}
		w->len -= (size_t)n;
		w->full = 0;
		w->r->active = ev_now(w->r->loop);
	}
	return 0;
}

/* Buffer to socket: 0, or -1 with the relay finished. */
static int
flush_buf(struct relay_way *w)
{
	while (w->off < w->len) {
		ssize_t n = send(w->to, w->buf + w->off, w->len - w->off,
		    MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			finish(w->r, "error");
			return -1;
		}
		w->off += (size_t)n;
		w->r->active = ev_now(w->r->loop);
	}
	if (w->off == w->len)
		w->off = w->len = 0;
	return 0;
}

static void
flush(struct relay_way *w)
{
	if ((splicing(w) ? flush_pipe(w) : flush_buf(w)) != 0)
		return;
	arm(w);
	check_done(w->r);
}

/* Socket to pipe: bytes moved, 0 at EOF, -1 nothing now (errno). */
static ssize_t
fill_pipe(struct relay_way *w)
{
	ssize_t n = splice(w->from, NULL, w->pipe[1], NULL, room(w),
	    SPLICE_FLAGS);

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && w->len > 0)
		w->full = 1;	/* its slots spent before its bytes */
	if (n < 0 && errno == EINVAL && w->len == 0) {
		/* This socket cannot splice: copy instead. */
		pipe_close(w);
		errno = EAGAIN;
		arm(w);
	}
	return n;
}

static void
way_read(struct ev_loop *loop, ev_io *io, int revents)
{
	struct relay_way *w = io->data;
	ssize_t n;

	(void)loop;
	(void)revents;
	if (splicing(w))
		n = fill_pipe(w);
	else
		n = read(w->from, w->buf + w->len, RELAY_BUF - w->len);
	if (n < 0 && (errno == EINTR || errno == EAGAIN ||
	    errno == EWOULDBLOCK)) {
		if (w->full)
			arm(w);
		return;
	}
	if (n < 0) {
		finish(w->r, "error");
		return;
	}
	if (n == 0)
		w->eof = 1;
	w->len += (size_t)n;
	w->bytes += (uint64_t)n;
	w->r->active = ev_now(w->r->loop);
	flush(w);
}

static void
way_write(struct ev_loop *loop, ev_io *io, int revents)
{
	(void)loop;
	(void)revents;
	flush(io->data);
}

static void
idle_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct relay *r = t->data;
	ev_tstamp left = r->active + RELAY_IDLE_S - ev_now(loop);

	(void)revents;
	if (left > 0) {
		ev_timer_set(t, left, 0.);
		ev_timer_start(loop, t);
		return;
	}
	finish(r, "idle");
}

void
relay_start(struct relay *r, struct ev_loop *loop, int a, int b,
    void (*done)(struct relay *, void *), void *arg)
{
	int fds[2] = { a, b }, one = 1;

	memset(r, 0, sizeof(*r));
	r->loop = loop;
	r->fds[0] = a;
	r->fds[1] = b;
	r->done = done;
	r->arg = arg;
	r->active = ev_now(loop);
	for (int i = 0; i < 2; i++) {
		struct relay_way *w = &r->way[i];
		int fl = fcntl(fds[i], F_GETFL);

		if (fl >= 0)
			(void)fcntl(fds[i], F_SETFL, fl | O_NONBLOCK);
		/* Refused by what is not TCP, which is as well. */
		(void)setsockopt(fds[i], IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
		pipe_open(w);
		w->r = r;
		w->from = fds[i];
		w->to = fds[1 - i];
		ev_io_init(&w->rio, way_read, w->from, EV_READ);
		ev_io_init(&w->wio, way_write, w->to, EV_WRITE);
		w->rio.data = w->wio.data = w;
		arm(w);
	}
	ev_timer_init(&r->idle, idle_cb, RELAY_IDLE_S, 0.);
	r->idle.data = r;
	ev_timer_start(loop, &r->idle);
}

void
relay_stop(struct relay *r)
{
	finish(r, "closed");
}

int
relay_splicing(const struct relay *r, int i)
{
	return splicing(&r->way[i]);
}
