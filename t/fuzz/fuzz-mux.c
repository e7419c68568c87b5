/*
 * libFuzzer target: what a QEMU guest sends the node on its egress port
 * (libdaemon/mux.c), given to the host side of the multiplexer whole:
 * frames parsed, streams opened (every other one answered yes, with a
 * socketpair standing for the gateway's stream, the others refused),
 * data and credit and half-closes applied, each broken rule a reset or
 * the channel closed.  Nothing may crash, leak or read past the input;
 * the parser never takes more than it was given, and says why it
 * refuses.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>

#include "mux.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define KEPT_MAX	(MUX_STREAMS_MAX + 1)

static int kept[KEPT_MAX], nkept, opens, gone;

static void
on_open(struct mux *m, struct mux_stream *s, const char *json, size_t len)
{
	static const char yes[] = "{\"ok\":true}", no[] = "{\"ok\":false}";
	int sv[2];

	(void)json;
	(void)len;
	if (opens++ % 2 == 0 && nkept < KEPT_MAX &&
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0) {
		kept[nkept++] = sv[1];
		mux_answer(m, s, yes, sizeof(yes) - 1, sv[0]);
	} else
		mux_answer(m, s, no, sizeof(no) - 1, -1);
}

static void
on_violation(struct mux *m, uint32_t id, const char *why, int fatal)
{
	(void)m;
	(void)id;
	(void)fatal;
	if (why == NULL || why[0] == '\0')
		abort();	/* a rule broken without a reason */
}

static void
on_gone(struct mux *m)
{
	(void)m;
	gone = 1;
}

static const struct mux_ops ops = {
	.open = on_open, .violation = on_violation, .gone = on_gone,
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ev_loop *loop;
	struct mux_frame f;
	struct mux *m;
	const char *why;
	size_t off = 0, used;
	int sv[2], rc;
	uint8_t *copy;

	/* The parser alone, frame after frame, on an exact copy. */
	if ((copy = malloc(size > 0 ? size : 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	while ((rc = mux_frame_parse(copy + off, size - off, &f, &used,
	    &why)) == MUX_F_OK) {
		if (used < MUX_HDR || used > size - off || f.len != used -
		    MUX_HDR)
			abort();
		off += used;
	}
	if (rc == MUX_F_BAD && why == NULL)
		abort();
	free(copy);

	/* The host side, fed the input as the guest's bytes. */
	if (loop == NULL && (loop = ev_loop_new(EVFLAG_AUTO)) == NULL)
		return 0;
	if (size > 65536 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC,
	    0, sv) != 0)
		return 0;
	if ((size > 0 && write(sv[1], data, size) != (ssize_t)size) ||
	    (m = calloc(1, sizeof(*m))) == NULL) {
		close(sv[0]);
		close(sv[1]);
		return 0;
	}
	shutdown(sv[1], SHUT_WR);
	nkept = opens = gone = 0;
	if (mux_init(m, loop, sv[0], 1, &ops, NULL) != 0) {
		close(sv[0]);
		close(sv[1]);
		free(m);
		return 0;
	}
	/* As if the input began right after the guest's echo of the SYNC
	 * (its nonce is random), so that a session's rules are fuzzed; an
	 * input that begins with 0x5a is skipped as before an echo. */
	m->syncing = (size > 0 && data[0] == 0x5a);
	for (int i = 0; i < 64 && !gone; i++)
		ev_run(loop, EVRUN_NOWAIT);
	mux_close(m);
	free(m);
	close(sv[1]);
	for (int i = 0; i < nkept; i++)
		close(kept[i]);
	return 0;
}
