/*
 * The guest side of an egress port (libdaemon/mux.c) across a restart
 * of its host that it never saw (the port never said the host went):
 * the new host's zeros end the frame the old one left half sent, the
 * guest skips to the new SYNC, ends the streams of the session before
 * (their clients see them close), drops what it queued for the old host
 * and echoes the SYNC; a stream opened then is the new session's first
 * frame after the echo, its id still growing.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mux.h"
#include "tap.h"

static struct ev_loop *loop;
static int host;		/* the test's end of the port */
static int client = -1;		/* the far end of the guest's stream */
static int unanswered, fatal;

static void
on_answer(struct mux *m, struct mux_stream *s, const char *json, size_t len)
{
	int sp[2];

	(void)m;
	(void)json;
	(void)len;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) != 0)
		abort();
	client = sp[1];
	mux_attach(s, sp[0]);
}

static void
on_unanswered(struct mux *m, struct mux_stream *s)
{
	(void)m;
	(void)s;
	unanswered++;
}

static void
on_violation(struct mux *m, uint32_t id, const char *why, int f)
{
	(void)m;
	(void)id;
	(void)why;
	fatal += f;
}

static void
on_gone(struct mux *m)
{
	(void)m;
}

static const struct mux_ops ops = {
	.answer = on_answer, .unanswered = on_unanswered,
	.violation = on_violation, .gone = on_gone,
};

static void
spin(void)
{
	for (int i = 0; i < 50; i++)
		ev_run(loop, EVRUN_NOWAIT);
}

static void
put(const void *b, size_t n)
{
	if (write(host, b, n) != (ssize_t)n)
		abort();
}

/* The zeros and a SYNC of nonce byte c, as a host begins a session. */
static void
begin(uint8_t c)
{
	static uint8_t b[MUX_SYNC_PAD + MUX_HDR + MUX_SYNC_NONCE];
	uint8_t nonce[MUX_SYNC_NONCE];

	memset(nonce, c, sizeof(nonce));
	memset(b, 0, MUX_SYNC_PAD);
	mux_frame_put(b + MUX_SYNC_PAD, MUX_SYNC, 0, nonce, sizeof(nonce));
	put(b, sizeof(b));
}

/* What the guest sent, as the host would read it: bytes skipped until
 * the echo of nonce byte c, then the frames after it (in *after). */
static ssize_t
until_echo(uint8_t c, uint8_t *after, size_t size, size_t *nafter)
{
	static uint8_t buf[1 << 16];
	uint8_t pat[MUX_HDR + MUX_SYNC_NONCE], nonce[MUX_SYNC_NONCE];
	size_t have = 0;
	ssize_t n;
	const uint8_t *at;

	memset(nonce, c, sizeof(nonce));
	mux_frame_put(pat, MUX_SYNC, 0, nonce, sizeof(nonce));
	for (int i = 0; i < 100; i++) {
		spin();
		if ((n = recv(host, buf + have, sizeof(buf) - have,
		    MSG_DONTWAIT)) > 0)
			have += (size_t)n;
		if ((at = memmem(buf, have, pat, sizeof(pat))) != NULL) {
			*nafter = have - (size_t)(at - buf) - sizeof(pat);
			if (*nafter > size)
				*nafter = size;
			memcpy(after, at + sizeof(pat), *nafter);
			return at - buf;
		}
	}
	return -1;
}

static int
next_frame(struct mux_frame *f, uint8_t *b, size_t *have)
{
	size_t used;
	const char *why;
	ssize_t n;

	for (int i = 0; i < 100; i++) {
		if (mux_frame_parse(b, *have, f, &used, &why) == MUX_F_OK)
			return 0;
		spin();
		if ((n = recv(host, b + *have, 65536, MSG_DONTWAIT)) > 0)
			*have += (size_t)n;
	}
	return -1;
}

/* The client's bytes read, up to EOF: 1 when it came. */
static int
client_eof(void)
{
	char buf[4096];
	ssize_t n;

	while ((n = recv(client, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		;
	return n == 0;
}

int
main(void)
{
	static uint8_t after[1 << 17];
	struct mux *m = calloc(1, sizeof(*m));
	struct mux_frame f;
	size_t nafter = 0;
	uint8_t half[MUX_HDR + 10];
	char buf[64];
	int sv[2];
	ssize_t skipped;

	signal(SIGPIPE, SIG_IGN);
	loop = ev_loop_new(EVFLAG_AUTO);
	if (m == NULL || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0 ||
	    mux_init(m, loop, sv[0], 0, &ops, NULL) != 0)
		abort();
	host = sv[1];
	for (int i = 0; i < 100 && m->hostless; i++)
		ev_run(loop, EVRUN_ONCE);
	ok(!m->hostless && m->hunting, "the port has its host: the guest "
	    "hunts for a SYNC");
	ok(mux_open(m, "{}", 2, 1) == NULL, "no stream before the session");

	/* The first session. */
	begin(1);
	skipped = until_echo(1, after, sizeof(after), &nafter);
	is_int(skipped, 0, "the zeros skipped, the SYNC echoed first");
	ok(mux_open(m, "{\"q\":1}", 7, 1) != NULL, "a stream opened");
	memset(after, 0, MUX_HDR);
	nafter = 0;
	ok(next_frame(&f, after, &nafter) == 0 && f.type == MUX_OPEN &&
	    f.id == 1, "its OPEN, stream 1");
	{
		uint8_t a[MUX_HDR + 11], d[MUX_HDR + 5];

		mux_frame_put(a, MUX_ANSWER, 1, "{\"ok\":true}", 11);
		mux_frame_put(d, MUX_DATA, 1, "hello", 5);
		put(a, sizeof(a));
		put(d, sizeof(d));
	}
	spin();
	ok(client >= 0 && recv(client, buf, sizeof(buf), MSG_DONTWAIT) == 5 &&
	    memcmp(buf, "hello", 5) == 0, "its data reaches its client");

	/* A new host, the old one's half frame before it; the guest never
	 * saw the port without a host. */
	mux_frame_put(half, MUX_DATA, 1, NULL, 1000);
	memset(half + MUX_HDR, 'x', 10);
	put(half, sizeof(half));
	begin(2);
	skipped = until_echo(2, after, sizeof(after), &nafter);
	ok(skipped >= 0, "the new SYNC echoed (%zd bytes of the old session "
	    "before it, which the host skips)", skipped);
	ok(client_eof(), "the stream of the session before ended: its client "
	    "sees EOF");
	is_int(m->nstreams, 0, "no stream left");
	is_int(fatal, 1, "the zeros were one bad frame, said once");
	is_int((long long)nafter, 0, "nothing queued for the old host "
	    "follows the echo");
	ok(mux_open(m, "{\"q\":2}", 7, 2) != NULL, "a new stream opened");
	ok(next_frame(&f, after, &nafter) == 0 && f.type == MUX_OPEN &&
	    f.id == 2 && f.len == 7, "its OPEN is the first frame after the "
	    "echo, stream 2");
	mux_close(m);
	free(m);
	close(host);
	close(client);
	ev_loop_destroy(loop);
	return done_testing();
}
