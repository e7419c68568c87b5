/*
 * The host side of an egress port (libdaemon/mux.c) against a guest
 * that stops reading it: past MUX_OUTQ_MAX bytes of frames queued the
 * host reads no stream (though the streams have data and credit), and
 * reads them again once the guest reads; a guest that keeps asking for
 * answers and never reads loses the port once MUX_OUTQ_HARD bytes are
 * queued, said as a fatal violation, never before.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mux.h"
#include "tap.h"

#define STREAMS	48		/* windows of 3 MiB in all: past OUTQ_MAX */

static struct ev_loop *loop;
static int guest;		/* the test's end of the port */
static int peers[STREAMS];	/* the far ends of the streams */
static int npeers, answer_big, violations, fatal_seen;
static char last_why[128];
static size_t queued_at_violation;

static size_t
queued(const struct mux *m)
{
	return m->out_len - m->out_off;
}

/* Each stream: yes, its far end full of more than a window; or, with
 * answer_big, a refusal of MUX_MSG_MAX bytes. */
static void
on_open(struct mux *m, struct mux_stream *s, const char *json, size_t len)
{
	static char big[MUX_MSG_MAX];
	static const char yes[] = "{\"ok\":true}";
	static char fill[MUX_WINDOW + 1];
	int sp[2];

	(void)json;
	(void)len;
	if (answer_big) {
		memset(big, ' ', sizeof(big));
		memcpy(big, "{\"ok\":false}", 12);
		mux_answer(m, s, big, sizeof(big), -1);
		return;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) != 0 || send(sp[1], fill,
	    sizeof(fill), MSG_DONTWAIT) != (ssize_t)sizeof(fill)) {
		mux_answer(m, s, "{\"ok\":false}", 12, -1);
		return;
	}
	peers[npeers++] = sp[1];
	mux_answer(m, s, yes, sizeof(yes) - 1, sp[0]);
}

static void
on_violation(struct mux *m, uint32_t id, const char *why, int fatal)
{
	(void)id;
	violations++;
	fatal_seen |= fatal;
	snprintf(last_why, sizeof(last_why), "%s", why);
	queued_at_violation = m->dead ? 0 : queued(m);
}

static void
on_gone(struct mux *m)
{
	(void)m;
}

static const struct mux_ops ops = {
	.open = on_open, .violation = on_violation, .gone = on_gone,
};

static void
spin(void)
{
	for (int i = 0; i < 200; i++)
		ev_run(loop, EVRUN_NOWAIT);
}

static void
put(const void *b, size_t n)
{
	if (write(guest, b, n) != (ssize_t)n)
		abort();
}

/* What the guest has been sent, read whole: the DATA bytes in it. */
static size_t
drain(void)
{
	static uint8_t buf[1 << 20], acc[MUX_HDR + MUX_FRAME_MAX + 65536];
	static size_t have;
	size_t data = 0;
	ssize_t n;

	while ((n = recv(guest, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		size_t off = 0;

		for (size_t i = 0; i < (size_t)n; ) {
			size_t k = (size_t)n - i;

			if (k > sizeof(acc) - have)
				k = sizeof(acc) - have;
			memcpy(acc + have, buf + i, k);
			have += k;
			i += k;
			off = 0;
			while (have - off >= MUX_HDR) {
				size_t len = (size_t)acc[off + 2] << 8 |
				    acc[off + 3];

				if (have - off < MUX_HDR + len)
					break;
				if (acc[off] == MUX_DATA)
					data += len;
				off += MUX_HDR + len;
			}
			memmove(acc, acc + off, have - off);
			have -= off;
		}
	}
	return data;
}

/* A host mux on a new port, its session begun: the SYNC echoed. */
static struct mux *
session(void)
{
	struct mux *m = calloc(1, sizeof(*m));
	int sv[2];
	uint8_t b[MUX_SYNC_PAD + MUX_HDR + MUX_SYNC_NONCE];
	size_t got = 0;

	if (m == NULL || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0 ||
	    mux_init(m, loop, sv[0], 1, &ops, NULL) != 0)
		abort();
	guest = sv[1];
	while (got < sizeof(b)) {
		ssize_t n;

		spin();
		if ((n = recv(guest, b + got, sizeof(b) - got,
		    MSG_DONTWAIT)) > 0)
			got += (size_t)n;
	}
	put(b + MUX_SYNC_PAD, MUX_HDR + MUX_SYNC_NONCE);
	spin();
	return m;
}

static void
open_stream(uint32_t id)
{
	static const char q[] = "{\"host\":\"x\",\"port\":1}";
	uint8_t f[MUX_HDR + sizeof(q)];

	mux_frame_put(f, MUX_OPEN, id, q, sizeof(q) - 1);
	put(f, MUX_HDR + sizeof(q) - 1);
}

int
main(void)
{
	struct mux *m;
	size_t total, left;
	int reading, i;
	uint32_t id;

	signal(SIGPIPE, SIG_IGN);
	loop = ev_loop_new(EVFLAG_AUTO);

	/* 1. MUX_OUTQ_MAX: the streams are no longer read. */
	m = session();
	is_int(m->syncing, 0, "the session began with the echo");
	for (id = 1; id <= STREAMS; id++)
		open_stream(id);
	spin();
	is_int(npeers, STREAMS, "%d streams answered yes", STREAMS);
	ok(queued(m) >= MUX_OUTQ_MAX, "the guest reads nothing: %zu bytes "
	    "queued, MUX_OUTQ_MAX reached", queued(m));
	ok(queued(m) <= MUX_OUTQ_MAX + MUX_HDR + MUX_FRAME_MAX,
	    "no more than one read past MUX_OUTQ_MAX");
	reading = 0;
	left = 0;
	for (struct mux_stream *s = m->streams; s != NULL; s = s->next) {
		reading += ev_is_active(&s->rio);
		left += s->credit;
	}
	is_int(reading, 0, "no stream is read, though %zu bytes of credit "
	    "are left and each has data", left);
	ok(left > 0, "credit is left: the queue, not the windows, stops "
	    "them");
	is_int(violations, 0, "no violation: the guest may be slow");
	/* The guest reads: the streams go on to their windows. */
	total = 0;
	for (i = 0; i < 200 && total < (size_t)STREAMS * MUX_WINDOW; i++) {
		total += drain();
		spin();
	}
	is_int((long long)total, (long long)STREAMS * MUX_WINDOW,
	    "once the guest reads, every stream is read to its window");
	mux_close(m);
	free(m);
	close(guest);
	for (i = 0; i < npeers; i++)
		close(peers[i]);

	/* 2. MUX_OUTQ_HARD: answers asked for, never read. */
	m = session();
	answer_big = 1;
	for (id = 1; !m->dead && id < 4000; id++) {
		open_stream(id);
		spin();
	}
	ok(m->dead, "the port is closed (after %u answers asked for)",
	    (unsigned)id - 1);
	is_int(violations, 1, "one violation");
	is_int(fatal_seen, 1, "fatal");
	is_str(last_why, "more than MUX_OUTQ_HARD bytes of frames left "
	    "unread", "its reason");
	ok(queued_at_violation > MUX_OUTQ_HARD && queued_at_violation <=
	    MUX_OUTQ_HARD + MUX_HDR + MUX_MSG_MAX, "said at %zu bytes "
	    "queued: the first answer past MUX_OUTQ_HARD",
	    queued_at_violation);
	free(m);
	close(guest);
	ev_loop_destroy(loop);
	return done_testing();
}
