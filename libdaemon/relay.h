/*
 * A byte relay between two stream sockets on the event loop (relay.c),
 * as the proxy (a client and its stream to the host) and the gateway (a
 * stream and its remote peer) both need: each way through a bounded
 * buffer, read only while that buffer has room (flow control: a slow
 * reader slows the writer, nothing grows), each end's EOF passed on as
 * shutdown(SHUT_WR), done once both ways are done, an error, or
 * RELAY_IDLE_S without a byte.
 *
 * Each way's buffer is a pipe of RELAY_PIPE bytes that splice(2) fills
 * from one socket and empties into the other, so the bytes never pass
 * through user space (the caller's seccomp allowlist must admit pipe2
 * and splice; SIGPIPE must be ignored, as splice cannot say
 * MSG_NOSIGNAL).  A way whose sockets splice(2) refuses, or that gets no
 * pipe (none left, or its descriptors would be RELAY_SPLICE_FD_MAX or
 * above, leaving the descriptors below a small limit to the sockets),
 * copies through its RELAY_BUF bytes instead.  TCP ends get
 * TCP_NODELAY: the relay passes on what it has at once, and Nagle's
 * wait for an ACK would only add latency to the peer's small writes.
 */
#ifndef NUCLEUS_RELAY_H
#define NUCLEUS_RELAY_H

#include <stdint.h>

#include <ev.h>

#define RELAY_BUF	65536	/* bytes buffered each way, copying */
#define RELAY_PIPE	262144	/* bytes a way's pipe holds, splicing */
#define RELAY_SPLICE_FD_MAX 256	/* a pipe only on descriptors below */
#define RELAY_IDLE_S	300	/* seconds a connection may carry nothing */

struct relay;

struct relay_way {
	struct relay *r;
	int	 from, to;
	ev_io	 rio, wio;
	int	 pipe[2];	/* splicing: [0] read, [1] write; else -1 */
	size_t	 cap;		/* the pipe's bytes */
	int	 full;		/* the pipe took no more: wait for room */
	char	 buf[RELAY_BUF];
	size_t	 off, len;	/* copying: buf[off, len) is to go;
				   splicing: len bytes in the pipe */
	int	 eof;		/* from said all it had */
	int	 done;		/* and to has it all, shut for writing */
	uint64_t bytes;
};

struct relay {
	struct ev_loop *loop;
	struct relay_way way[2];	/* [0]: a to b, [1]: b to a */
	ev_timer idle;
	ev_tstamp active;
	int	 fds[2];
	const char *how;	/* how it ended: "eof", "error", "idle",
				   "closed" */
	void	(*done)(struct relay *, void *);
	void	*arg;
};

/* Relay between a and b (made non-blocking, owned by r from now on);
 * done(r, arg) once it ends, both closed; r is the caller's to free
 * then. */
void	 relay_start(struct relay *, struct ev_loop *, int, int,
	    void (*)(struct relay *, void *), void *);
/* End it now ("closed"): done is called. */
void	 relay_stop(struct relay *);
/* Whether way i (0: a to b, 1: b to a) splices (for tests). */
int	 relay_splicing(const struct relay *, int);

#endif /* NUCLEUS_RELAY_H */
