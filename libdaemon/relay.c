/*
 * A byte relay between two sockets (relay.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "relay.h"

static void way_read(struct ev_loop *, ev_io *, int);
static void way_write(struct ev_loop *, ev_io *, int);

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

	if (!w->eof && w->len < RELAY_BUF)
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

static void
flush(struct relay_way *w)
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
			return;
		}
		w->off += (size_t)n;
		w->r->active = ev_now(w->r->loop);
	}
	if (w->off == w->len)
		w->off = w->len = 0;
	arm(w);
	check_done(w->r);
}

static void
way_read(struct ev_loop *loop, ev_io *io, int revents)
{
	struct relay_way *w = io->data;
	int64_t *budget = w->r->budget;
	size_t room = RELAY_BUF - w->len;
	ssize_t n;

	(void)loop;
	(void)revents;
	if (budget != NULL && (uint64_t)*budget < room)
		room = (size_t)*budget + 1;	/* one more: crossing seen */
	n = read(w->from, w->buf + w->len, room);
	if (n < 0 && (errno == EINTR || errno == EAGAIN ||
	    errno == EWOULDBLOCK))
		return;
	if (n < 0) {
		finish(w->r, "error");
		return;
	}
	if (budget != NULL && n > *budget) {
		*budget = 0;
		finish(w->r, "bytes_limit");
		return;
	}
	if (budget != NULL)
		*budget -= n;
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
	ev_tstamp left = r->active + r->idle_s - ev_now(loop);

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
	int fds[2] = { a, b };

	memset(r, 0, sizeof(*r));
	r->loop = loop;
	r->fds[0] = a;
	r->fds[1] = b;
	r->done = done;
	r->arg = arg;
	r->active = ev_now(loop);
	r->idle_s = RELAY_IDLE_S;
	for (int i = 0; i < 2; i++) {
		struct relay_way *w = &r->way[i];
		int fl = fcntl(fds[i], F_GETFL);

		if (fl >= 0)
			(void)fcntl(fds[i], F_SETFL, fl | O_NONBLOCK);
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
relay_limit(struct relay *r, int idle_s, int64_t *budget)
{
	if (idle_s > 0 && idle_s < RELAY_IDLE_S) {
		r->idle_s = idle_s;
		ev_timer_stop(r->loop, &r->idle);
		ev_timer_set(&r->idle, idle_s, 0.);
		ev_timer_start(r->loop, &r->idle);
	}
	r->budget = budget;
}

void
relay_stop(struct relay *r)
{
	finish(r, "closed");
}
