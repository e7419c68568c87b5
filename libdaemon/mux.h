/*
 * Egress streams multiplexed on one byte pipe (mux.c): a QEMU pod's
 * second virtio serial port, which cannot open a connection per stream.
 * The guest's nucleus-proxy opens streams; the node, on the host, hands
 * each to the pod's gateway.  Bulk bytes travel in binary frames, never
 * in JSON; only a stream's request and its answer are the gateway's small
 * JSON messages.
 *
 * A frame: an 8-byte header, then len bytes (big-endian numbers)
 *
 *	type u8 | flags u8 (0) | len u16 | stream u32 (not 0) | payload
 *
 *	OPEN	guest -> host: the gateway request; ids only grow
 *	ANSWER	host -> guest: the gateway's answer; "ok": false ends it
 *	DATA	1..MUX_FRAME_MAX bytes, within the sender's credit
 *	CREDIT	4 bytes: so many more bytes may be sent (a window per
 *		stream and way, MUX_WINDOW at most in flight)
 *	SHUT	the sender sends no more on this stream (half-close)
 *	CLOSE	the stream is gone, both ways (reset)
 *	SYNC	stream 0, MUX_SYNC_NONCE bytes: a session begins (below)
 *
 * A session: a host that connects to the port (the node, at a pod's
 * start or when it takes the pod back after a restart of its own) first
 * sends MUX_SYNC_PAD zero bytes and a SYNC frame with a nonce of its
 * own, then nothing until the guest sends that SYNC back; every byte
 * before the echo is skipped (the tail of an earlier session's frame),
 * MUX_SYNC_SKIP_MAX at most, then the channel is closed.  The guest
 * skips every byte until a SYNC frame's header (the zeros end whatever
 * frame an earlier host left half sent, and are never one), ends every
 * stream of the session before (their clients see them close), drops
 * what it had queued for that host, and echoes the SYNC: both sides
 * then begin at a frame's start with no stream open.  The guest hunts
 * again when its host goes, or when the host's bytes break a rule.
 *
 * A peer that breaks the rules: a bad frame, an id reused or never
 * opened, a wrong-way OPEN or ANSWER closes the channel; data past the
 * credit, or credit past the window, resets the stream; a stream past
 * MUX_STREAMS_MAX is refused; a peer that leaves MUX_OUTQ_HARD bytes of
 * frames unread closes the channel (data stops at MUX_OUTQ_MAX, so only
 * a peer that asks and never reads gets there); so does a broken rule
 * past MUX_VIOLATIONS_MAX (each is a record of the owner's).  Each is said to the
 * owner (violation).  A guest whose host breaks a rule that would close
 * the channel is out of step with it instead: it hunts for the next
 * session's SYNC.
 */
#ifndef NUCLEUS_MUX_H
#define NUCLEUS_MUX_H

#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#define MUX_HDR		8	/* a frame's header */
#define MUX_FRAME_MAX	16384	/* a DATA frame's payload at most */
#define MUX_MSG_MAX	4096	/* an OPEN's or ANSWER's (GATEWAY_MSG_MAX) */
#define MUX_WINDOW	65536	/* bytes in flight per stream and way */
#define MUX_STREAMS_MAX	256	/* streams at once on a channel */
#define MUX_OUTQ_MAX	(1024 * 1024)	/* queued: no stream is read */
#define MUX_OUTQ_HARD	(4 * 1024 * 1024)	/* queued: the peer reads
						   nothing, the channel closes */
#define MUX_SYNC_NONCE	16	/* a SYNC's payload: the host's nonce */
#define MUX_SYNC_PAD	(MUX_HDR + MUX_FRAME_MAX)	/* zeros before it */
#define MUX_SYNC_SKIP_MAX (MUX_OUTQ_HARD + MUX_HDR + MUX_FRAME_MAX)
				/* bytes before the echo, at most */
#define MUX_VIOLATIONS_MAX 64	/* streams reset for broken rules, then
				   the channel is closed */

enum mux_type {
	MUX_OPEN = 1, MUX_ANSWER, MUX_DATA, MUX_CREDIT, MUX_SHUT, MUX_CLOSE,
	MUX_SYNC
};

struct mux_frame {
	uint8_t	 type;
	uint32_t id;
	const uint8_t *p;
	size_t	 len;
};

enum { MUX_F_OK, MUX_F_MORE, MUX_F_BAD };

/* One frame at the start of buf: MUX_F_OK (f, *used set), MUX_F_MORE, or
 * MUX_F_BAD (*why says what). */
int	 mux_frame_parse(const uint8_t *, size_t, struct mux_frame *,
	    size_t *, const char **);

struct mux;

struct mux_stream {
	struct mux_stream *next;
	struct mux *m;
	uint32_t id;
	uint64_t tag;		/* the owner's */
	int	 fd;		/* -1 until answered */
	ev_io	 rio, wio;
	uint8_t	*in;		/* from the peer, for fd */
	size_t	 in_off, in_len;
	uint32_t credit;	/* we may send so many */
	uint32_t unacked;	/* the peer sent, not yet credited back */
	uint32_t written;	/* written to fd, not yet credited */
	int	 answered, eof_local, eof_peer, shut;
	uint64_t bytes_in, bytes_out;
};

struct mux_ops {
	/* host: a stream asks (json, len): answer with mux_answer */
	void	(*open)(struct mux *, struct mux_stream *, const char *,
		    size_t);
	/* guest: the host's answer: mux_attach, or mux_forget */
	void	(*answer)(struct mux *, struct mux_stream *, const char *,
		    size_t);
	/* the peer broke a rule: the stream (id) or the channel (fatal) */
	void	(*violation)(struct mux *, uint32_t, const char *, int);
	/* guest: a stream ends before its answer (the host went) */
	void	(*unanswered)(struct mux *, struct mux_stream *);
	/* the channel ended (closed, broken, or a fatal violation); m is
	 * still in use: free it later, never here */
	void	(*gone)(struct mux *);
};

struct mux {
	struct ev_loop *loop;
	int	 fd, host, dead, hostless;
	int	 syncing;	/* host: until the guest echoes the SYNC */
	int	 hunting;	/* guest: until a SYNC's header */
	uint8_t	 nonce[MUX_SYNC_NONCE];
	size_t	 skipped;	/* host: bytes before the echo */
	ev_io	 rio, wio;
	ev_timer retry;		/* a port without its host */
	uint8_t	 in[MUX_HDR + MUX_FRAME_MAX];
	size_t	 in_len;
	uint8_t	*out;
	size_t	 out_off, out_len, out_cap;
	struct mux_stream *streams;
	int	 nstreams, violations;
	uint32_t last_id;
	const struct mux_ops *ops;
	void	*arg;
};

/* Start on fd (non-blocking from now, owned): host or guest side. */
int	 mux_init(struct mux *, struct ev_loop *, int, int,
	    const struct mux_ops *, void *);
/* guest: a new stream asking json; NULL when the channel is gone or full */
struct mux_stream *mux_open(struct mux *, const char *, size_t, uint64_t);
/* host: the answer; fd >= 0: the stream's, relayed from now on; fd < 0:
 * refused, the stream forgotten */
void	 mux_answer(struct mux *, struct mux_stream *, const char *, size_t,
	    int);
/* guest: the stream relayed through fd from now on */
void	 mux_attach(struct mux_stream *, int);
/* a stream ended here: forgotten (reset sent when it was live) */
void	 mux_reset(struct mux_stream *);
/* by id, or NULL */
struct mux_stream *mux_find(struct mux *, uint32_t);
/* the channel closed, each stream with it */
void	 mux_close(struct mux *);

/* A frame into buf (MUX_HDR + len bytes). */
void	 mux_frame_put(uint8_t *, uint8_t, uint32_t, const void *, size_t);

#endif /* NUCLEUS_MUX_H */
