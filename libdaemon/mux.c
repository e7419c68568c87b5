/*
 * Egress streams multiplexed on one byte pipe (mux.h).
 *
 * Each stream's way out (its fd to the peer) is read only while the
 * peer has given credit and the channel's queue is short; each way in
 * lands in the stream's buffer of MUX_WINDOW bytes, which the peer's
 * credit guarantees has room, and credit goes back as fd takes it.  So a
 * stream whose reader stops holds at most its window, and the others go
 * on.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mux.h"

#define MUX_RETRY_S	0.05	/* a port without its host: looked at */

static void chan_read(struct ev_loop *, ev_io *, int);
static void chan_write(struct ev_loop *, ev_io *, int);
static void stream_read(struct ev_loop *, ev_io *, int);
static void stream_write(struct ev_loop *, ev_io *, int);
static void arm_all(struct mux *);
static void resync(struct mux *, const struct mux_frame *);

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

int
mux_frame_parse(const uint8_t *b, size_t n, struct mux_frame *f,
    size_t *used, const char **why)
{
	size_t len;

	if (n < MUX_HDR)
		return MUX_F_MORE;
	len = (size_t)b[2] << 8 | b[3];
	f->type = b[0];
	f->id = get32(b + 4);
	*why = NULL;
	if (f->type < MUX_OPEN || f->type > MUX_SYNC)
		*why = "an unknown frame type";
	else if (b[1] != 0)
		*why = "a frame's flags are not 0";
	else if (f->type == MUX_SYNC && (f->id != 0 || len != MUX_SYNC_NONCE))
		*why = "a SYNC not on stream 0 or not of MUX_SYNC_NONCE bytes";
	else if (f->type != MUX_SYNC && f->id == 0)
		*why = "stream 0";
	else if ((f->type == MUX_OPEN || f->type == MUX_ANSWER) &&
	    (len == 0 || len > MUX_MSG_MAX))
		*why = "a request or answer of 0 or over MUX_MSG_MAX bytes";
	else if (f->type == MUX_DATA && (len == 0 || len > MUX_FRAME_MAX))
		*why = "a data frame of 0 or over MUX_FRAME_MAX bytes";
	else if (f->type == MUX_CREDIT && len != 4)
		*why = "a credit frame not of 4 bytes";
	else if ((f->type == MUX_SHUT || f->type == MUX_CLOSE) && len != 0)
		*why = "a shut or close frame with a payload";
	if (*why != NULL)
		return MUX_F_BAD;
	if (n < MUX_HDR + len)
		return MUX_F_MORE;
	f->p = b + MUX_HDR;
	f->len = len;
	*used = MUX_HDR + len;
	return MUX_F_OK;
}

void
mux_frame_put(uint8_t *b, uint8_t type, uint32_t id, const void *p,
    size_t len)
{
	b[0] = type;
	b[1] = 0;
	b[2] = (uint8_t)(len >> 8);
	b[3] = (uint8_t)len;
	put32(b + 4, id);
	if (p != NULL && len > 0)
		memcpy(b + MUX_HDR, p, len);
}

static size_t
queued(const struct mux *m)
{
	return m->out_len - m->out_off;
}

/* Room for n more bytes at the queue's end, or NULL (out of memory:
 * the channel is closed). */
static uint8_t *
reserve(struct mux *m, size_t n)
{
	if (m->out_off > 0 && m->out_off == m->out_len)
		m->out_off = m->out_len = 0;
	if (m->out_len + n > m->out_cap && m->out_off > 0) {
		memmove(m->out, m->out + m->out_off, queued(m));
		m->out_len -= m->out_off;
		m->out_off = 0;
	}
	if (m->out_len + n > m->out_cap) {
		size_t cap = m->out_cap ? m->out_cap : 65536;
		uint8_t *p;

		while (cap < m->out_len + n)
			cap *= 2;
		if ((p = realloc(m->out, cap)) == NULL)
			return NULL;
		m->out = p;
		m->out_cap = cap;
	}
	return m->out + m->out_len;
}

static void
flush(struct mux *m)
{
	while (!m->dead && !m->hostless && queued(m) > 0) {
		ssize_t n = write(m->fd, m->out + m->out_off, queued(m));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			mux_close(m);
			return;
		}
		m->out_off += (size_t)n;
	}
	if (m->dead)
		return;
	if (queued(m) > 0 && !m->hostless)
		ev_io_start(m->loop, &m->wio);
	else
		ev_io_stop(m->loop, &m->wio);
}

static void
send_frame(struct mux *m, uint8_t type, uint32_t id, const void *p,
    size_t len)
{
	uint8_t *b;

	if (m->dead || m->hostless || m->hunting)
		return;
	if ((b = reserve(m, MUX_HDR + len)) == NULL) {
		mux_close(m);
		return;
	}
	mux_frame_put(b, type, id, p, len);
	m->out_len += MUX_HDR + len;
}

static void
send_credit(struct mux *m, uint32_t id, uint32_t n)
{
	uint8_t b[4];

	put32(b, n);
	send_frame(m, MUX_CREDIT, id, b, 4);
}

struct mux_stream *
mux_find(struct mux *m, uint32_t id)
{
	for (struct mux_stream *s = m->streams; s != NULL; s = s->next)
		if (s->id == id)
			return s;
	return NULL;
}

static struct mux_stream *
stream_new(struct mux *m, uint32_t id, uint64_t tag)
{
	struct mux_stream *s = calloc(1, sizeof(*s));

	if (s == NULL || (s->in = malloc(MUX_WINDOW)) == NULL) {
		free(s);
		return NULL;
	}
	s->m = m;
	s->id = id;
	s->tag = tag;
	s->fd = -1;
	s->credit = MUX_WINDOW;
	ev_io_init(&s->rio, stream_read, 0, EV_READ);
	ev_io_init(&s->wio, stream_write, 0, EV_WRITE);
	s->rio.data = s->wio.data = s;
	s->next = m->streams;
	m->streams = s;
	m->nstreams++;
	return s;
}

/* A stream out of its channel's list, closed and freed. */
static void
stream_destroy(struct mux *m, struct mux_stream *s)
{
	m->nstreams--;
	if (!s->answered && !m->host && m->ops->unanswered != NULL)
		m->ops->unanswered(m, s);
	if (s->fd >= 0) {
		ev_io_stop(m->loop, &s->rio);
		ev_io_stop(m->loop, &s->wio);
		close(s->fd);
	}
	free(s->in);
	free(s);
}

static void
stream_free(struct mux_stream *s)
{
	struct mux *m = s->m;

	if (m->streams == s)
		m->streams = s->next;
	else
		for (struct mux_stream *p = m->streams; p != NULL; p = p->next)
			if (p->next == s) {
				p->next = s->next;
				break;
			}
	stream_destroy(m, s);
}

/* Every stream of m, gone. */
static void
streams_free(struct mux *m)
{
	struct mux_stream *s;

	while ((s = m->streams) != NULL) {
		m->streams = s->next;
		stream_destroy(m, s);
	}
}

void
mux_reset(struct mux_stream *s)
{
	send_frame(s->m, MUX_CLOSE, s->id, NULL, 0);
	stream_free(s);
}

/* What a stream's fd should be watched for now. */
static void
arm(struct mux_stream *s)
{
	struct mux *m = s->m;

	if (s->fd < 0)
		return;
	if (!s->eof_local && s->credit > 0 && !m->dead && !m->hostless &&
	    !m->hunting && !m->syncing && queued(m) < MUX_OUTQ_MAX)
		ev_io_start(m->loop, &s->rio);
	else
		ev_io_stop(m->loop, &s->rio);
	if (s->in_len > 0)
		ev_io_start(m->loop, &s->wio);
	else
		ev_io_stop(m->loop, &s->wio);
}

static void
arm_all(struct mux *m)
{
	if (m->dead)
		return;
	for (struct mux_stream *s = m->streams; s != NULL; s = s->next)
		arm(s);
	/* The channel is always read: a side that waited for the other
	 * to read could wait for one that waits for it. */
	if (!m->hostless)
		ev_io_start(m->loop, &m->rio);
	else
		ev_io_stop(m->loop, &m->rio);
}

/* Both ways done: the stream is over, here and there. */
static int
maybe_done(struct mux_stream *s)
{
	if (!s->eof_local || !s->shut)
		return 0;
	stream_free(s);
	return 1;
}

/* What the peer sent, to fd; credit back as fd takes it. */
static void
stream_flush(struct mux_stream *s)
{
	struct mux *m = s->m;

	while (s->in_len > 0) {
		ssize_t n = send(s->fd, s->in + s->in_off, s->in_len,
		    MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			mux_reset(s);
			return;
		}
		s->in_off += (size_t)n;
		s->in_len -= (size_t)n;
		s->written += (uint32_t)n;
		s->bytes_in += (uint64_t)n;
	}
	if (s->in_len == 0)
		s->in_off = 0;
	/* Credit in quarters of the window, or all once drained. */
	if (s->written > 0 && (s->written >= MUX_WINDOW / 4 ||
	    s->in_len == 0)) {
		send_credit(m, s->id, s->written);
		s->unacked -= s->written;
		s->written = 0;
	}
	if (s->in_len == 0 && s->eof_peer && !s->shut) {
		(void)shutdown(s->fd, SHUT_WR);
		s->shut = 1;
		if (maybe_done(s))
			return;
	}
	arm(s);
}

static void
stream_write(struct ev_loop *loop, ev_io *w, int revents)
{
	struct mux_stream *s = w->data;
	struct mux *m = s->m;

	(void)loop;
	(void)revents;
	stream_flush(s);
	flush(m);
	arm_all(m);
}

/* fd's bytes, as DATA frames within the credit. */
static void
stream_read(struct ev_loop *loop, ev_io *w, int revents)
{
	struct mux_stream *s = w->data;
	struct mux *m = s->m;
	size_t want = s->credit < MUX_FRAME_MAX ? s->credit : MUX_FRAME_MAX;
	uint8_t *b;
	ssize_t n;

	(void)loop;
	(void)revents;
	if ((b = reserve(m, MUX_HDR + want)) == NULL) {
		mux_close(m);
		return;
	}
	n = read(s->fd, b + MUX_HDR, want);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		mux_reset(s);
	} else if (n == 0) {
		s->eof_local = 1;
		send_frame(m, MUX_SHUT, s->id, NULL, 0);
		if (!maybe_done(s))
			arm(s);
	} else {
		mux_frame_put(b, MUX_DATA, s->id, NULL, (size_t)n);
		m->out_len += MUX_HDR + (size_t)n;
		s->credit -= (uint32_t)n;
		s->bytes_out += (uint64_t)n;
	}
	flush(m);
	arm_all(m);
}

/* A broken rule: said, and the stream reset (s) or the channel closed. */
static void
violation(struct mux *m, struct mux_stream *s, uint32_t id, const char *why,
    int fatal)
{
	if (!fatal && ++m->violations > MUX_VIOLATIONS_MAX) {
		why = "more broken rules than MUX_VIOLATIONS_MAX";
		fatal = 1;
	}
	if (m->ops->violation != NULL)
		m->ops->violation(m, id, why, fatal);
	if (fatal && !m->host)
		m->hunting = 1;	/* the host is out of step: a new session */
	else if (fatal)
		mux_close(m);
	else if (s != NULL)
		mux_reset(s);
	else
		send_frame(m, MUX_CLOSE, id, NULL, 0);
}

static void
on_open(struct mux *m, const struct mux_frame *f)
{
	static const char full[] = "{\"ok\":false,\"kind\":\"too_many\","
	    "\"reason\":\"more streams than MUX_STREAMS_MAX at once\"}";
	struct mux_stream *s;

	if (!m->host) {
		violation(m, NULL, f->id, "an OPEN from the host", 1);
		return;
	}
	if (f->id <= m->last_id) {
		violation(m, NULL, f->id, "a stream id used before", 1);
		return;
	}
	m->last_id = f->id;
	if (m->nstreams >= MUX_STREAMS_MAX) {
		send_frame(m, MUX_ANSWER, f->id, full, sizeof(full) - 1);
		violation(m, NULL, f->id, "more streams than MUX_STREAMS_MAX "
		    "at once", 0);
		return;
	}
	if ((s = stream_new(m, f->id, 0)) == NULL) {
		mux_close(m);
		return;
	}
	m->ops->open(m, s, (const char *)f->p, f->len);
}

static void
on_frame(struct mux *m, const struct mux_frame *f)
{
	struct mux_stream *s;
	uint32_t n;

	if (f->type == MUX_OPEN) {
		on_open(m, f);
		return;
	}
	if (f->type == MUX_SYNC) {
		if (m->host)
			violation(m, NULL, 0, "a SYNC the host did not ask "
			    "for", 1);
		else
			resync(m, f);
		return;
	}
	if ((s = mux_find(m, f->id)) == NULL) {
		/* A stream that ended here meanwhile: its late frames go.
		 * One never opened: a peer that lies. */
		if (f->id > m->last_id)
			violation(m, NULL, f->id, "a frame for a stream never "
			    "opened", 1);
		return;
	}
	switch (f->type) {
	case MUX_SYNC:
		break;	/* never a stream's (on_frame) */
	case MUX_ANSWER:
		if (m->host || s->answered) {
			violation(m, s, f->id, "an ANSWER the guest may not "
			    "send, or a second one", 1);
			return;
		}
		s->answered = 1;
		m->ops->answer(m, s, (const char *)f->p, f->len);
		return;
	case MUX_DATA:
		if (s->fd < 0 || s->eof_peer || f->len > MUX_WINDOW -
		    s->unacked) {
			violation(m, s, f->id, s->fd < 0 ? "data before the "
			    "answer" : s->eof_peer ? "data after SHUT" :
			    "data past the stream's credit", 0);
			return;
		}
		if (s->in_off + s->in_len + f->len > MUX_WINDOW) {
			memmove(s->in, s->in + s->in_off, s->in_len);
			s->in_off = 0;
		}
		memcpy(s->in + s->in_off + s->in_len, f->p, f->len);
		s->in_len += f->len;
		s->unacked += (uint32_t)f->len;
		stream_flush(s);
		return;
	case MUX_CREDIT:
		n = get32(f->p);
		if (n == 0 || n > MUX_WINDOW - s->credit) {
			violation(m, s, f->id, "credit past the window", 0);
			return;
		}
		s->credit += n;
		return;
	case MUX_SHUT:
		if (s->fd < 0 || s->eof_peer) {
			violation(m, s, f->id, "SHUT before the answer, or "
			    "twice", 0);
			return;
		}
		s->eof_peer = 1;
		stream_flush(s);
		return;
	case MUX_CLOSE:
		stream_free(s);
		return;
	}
}

/*
 * Guest: a host begins a session.  Every stream of the one before ends
 * (a client not yet answered is told no), what was queued for that host
 * goes, and the SYNC goes back first.
 */
static void
resync(struct mux *m, const struct mux_frame *f)
{
	streams_free(m);
	m->out_off = m->out_len = 0;
	m->hunting = 0;
	send_frame(m, MUX_SYNC, 0, f->p, f->len);
}

/*
 * Bytes to skip at in + *off until a session's start: the host's echo
 * whole (host), or a SYNC's header (guest, which then parses it).  1:
 * found, *off at what follows; 0: not yet (the last bytes that may begin
 * it kept), or the channel closed.
 */
static int
skip_to_sync(struct mux *m, size_t *off)
{
	uint8_t pat[MUX_HDR + MUX_SYNC_NONCE];
	size_t n = m->host ? sizeof(pat) : MUX_HDR, have = m->in_len - *off;
	const uint8_t *at;

	mux_frame_put(pat, MUX_SYNC, 0, m->nonce, MUX_SYNC_NONCE);
	if ((at = memmem(m->in + *off, have, pat, n)) != NULL)
		m->skipped += (size_t)(at - (m->in + *off));
	else if (have >= n) {
		m->skipped += have - (n - 1);
		*off = m->in_len - (n - 1);
	}
	if (m->host && m->skipped > MUX_SYNC_SKIP_MAX) {
		violation(m, NULL, 0, "no SYNC echo within MUX_SYNC_SKIP_MAX "
		    "bytes", 1);
		return 0;
	}
	if (at == NULL)
		return 0;
	*off = (size_t)(at - m->in) + (m->host ? n : 0);
	if (m->host)
		m->syncing = 0;
	else
		m->hunting = 0;
	return 1;
}

/* The port's host went (guest side): each stream with it, until it is
 * back. */
static void
host_gone(struct mux *m)
{
	streams_free(m);
	m->hostless = 1;
	m->hunting = 1;
	m->in_len = 0;
	m->out_off = m->out_len = 0;
	ev_io_stop(m->loop, &m->rio);
	ev_io_stop(m->loop, &m->wio);
	ev_timer_start(m->loop, &m->retry);
}

static void
host_back(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct mux *m = w->data;
	struct pollfd pf = { m->fd, POLLIN, 0 };

	(void)revents;
	if (poll(&pf, 1, 0) < 0 || (pf.revents & POLLHUP))
		return;
	ev_timer_stop(loop, w);
	m->hostless = 0;
	arm_all(m);
}

static void
chan_read(struct ev_loop *loop, ev_io *w, int revents)
{
	struct mux *m = w->data;
	ssize_t n;
	size_t off = 0, used;
	struct mux_frame f;
	const char *why;
	int rc = MUX_F_MORE;

	(void)loop;
	(void)revents;
	n = read(m->fd, m->in + m->in_len, sizeof(m->in) - m->in_len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		if (!m->host) {
			host_gone(m);
			return;
		}
		mux_close(m);
		return;
	}
	m->in_len += (size_t)n;
	while (!m->dead && !m->hostless) {
		if (m->syncing || m->hunting) {
			if (!skip_to_sync(m, &off))
				break;
			continue;
		}
		if ((rc = mux_frame_parse(m->in + off, m->in_len - off, &f,
		    &used, &why)) == MUX_F_MORE)
			break;
		if (rc == MUX_F_BAD)
			violation(m, NULL, 0, why, 1);	/* guest: hunts */
		else {
			on_frame(m, &f);
			off += used;
		}
	}
	if (m->dead || m->hostless)
		return;
	memmove(m->in, m->in + off, m->in_len - off);
	m->in_len -= off;
	flush(m);
	if (!m->dead && queued(m) > MUX_OUTQ_HARD) {
		violation(m, NULL, 0, "more than MUX_OUTQ_HARD bytes of frames "
		    "left unread", 1);
		return;
	}
	arm_all(m);
}

static void
chan_write(struct ev_loop *loop, ev_io *w, int revents)
{
	struct mux *m = w->data;

	(void)loop;
	(void)revents;
	flush(m);
	arm_all(m);
}

int
mux_init(struct mux *m, struct ev_loop *loop, int fd, int host,
    const struct mux_ops *ops, void *arg)
{
	int fl = fcntl(fd, F_GETFL);
	uint8_t *b;

	memset(m, 0, sizeof(*m));
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
		return -1;
	m->loop = loop;
	m->fd = fd;
	m->host = host;
	m->ops = ops;
	m->arg = arg;
	ev_io_init(&m->rio, chan_read, fd, EV_READ);
	ev_io_init(&m->wio, chan_write, fd, EV_WRITE);
	ev_timer_init(&m->retry, host_back, MUX_RETRY_S, MUX_RETRY_S);
	m->rio.data = m->wio.data = m->retry.data = m;
	if (!host) {
		host_gone(m);	/* until the port says its host is there */
		return 0;
	}
	/* A session of its own: zeros to end any frame an earlier host
	 * left half sent, then the SYNC the guest must echo. */
	if (getrandom(m->nonce, sizeof(m->nonce), 0) !=
	    (ssize_t)sizeof(m->nonce) ||
	    (b = reserve(m, MUX_SYNC_PAD)) == NULL) {
		free(m->out);
		m->out = NULL;
		return -1;
	}
	memset(b, 0, MUX_SYNC_PAD);
	m->out_len += MUX_SYNC_PAD;
	m->syncing = 1;
	send_frame(m, MUX_SYNC, 0, m->nonce, MUX_SYNC_NONCE);
	ev_io_start(loop, &m->rio);
	flush(m);
	return 0;
}

struct mux_stream *
mux_open(struct mux *m, const char *json, size_t len, uint64_t tag)
{
	struct mux_stream *s;

	if (m->dead || m->hostless || m->hunting || len == 0 ||
	    len > MUX_MSG_MAX ||
	    m->nstreams >= MUX_STREAMS_MAX || m->last_id == UINT32_MAX ||
	    (s = stream_new(m, m->last_id + 1, tag)) == NULL)
		return NULL;
	m->last_id++;
	send_frame(m, MUX_OPEN, s->id, json, len);
	flush(m);
	return m->dead ? NULL : s;
}

static void
attach(struct mux_stream *s, int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0)
		(void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	s->fd = fd;
	s->answered = 1;
	ev_io_set(&s->rio, fd, EV_READ);
	ev_io_set(&s->wio, fd, EV_WRITE);
	arm(s);
}

void
mux_answer(struct mux *m, struct mux_stream *s, const char *json,
    size_t len, int fd)
{
	if (len > MUX_MSG_MAX)
		len = 0;	/* never: the gateway's are smaller */
	if (len > 0)
		send_frame(m, MUX_ANSWER, s->id, json, len);
	if (fd >= 0 && len > 0 && !m->dead)
		attach(s, fd);
	else {
		if (fd >= 0)
			close(fd);
		if (len == 0)
			send_frame(m, MUX_CLOSE, s->id, NULL, 0);
		stream_free(s);
	}
	flush(m);
}

void
mux_attach(struct mux_stream *s, int fd)
{
	attach(s, fd);
	flush(s->m);
}

void
mux_close(struct mux *m)
{
	if (m->dead)
		return;
	m->dead = 1;
	streams_free(m);
	ev_io_stop(m->loop, &m->rio);
	ev_io_stop(m->loop, &m->wio);
	ev_timer_stop(m->loop, &m->retry);
	close(m->fd);
	m->fd = -1;
	free(m->out);
	m->out = NULL;
	m->out_off = m->out_len = m->out_cap = 0;
	if (m->ops->gone != NULL)
		m->ops->gone(m);
}
