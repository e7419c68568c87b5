/*
 * A byte relay between two stream sockets on the event loop (relay.c),
 * as the proxy (a client and its stream to the host) and the gateway (a
 * stream and its remote peer) both need: each way through a bounded
 * buffer, read only while that buffer has room (flow control: a slow
 * reader slows the writer, nothing grows), each end's EOF passed on as
 * shutdown(SHUT_WR), done once both ways are done, an error, or
 * RELAY_IDLE_S without a byte.
 */
#ifndef NUCLEUS_RELAY_H
#define NUCLEUS_RELAY_H

#include <stdint.h>

#include <ev.h>

#define RELAY_BUF	65536	/* bytes buffered each way */
#define RELAY_IDLE_S	300	/* seconds a connection may carry nothing */

struct relay;

struct relay_way {
	struct relay *r;
	int	 from, to;
	ev_io	 rio, wio;
	char	 buf[RELAY_BUF];
	size_t	 off, len;
	int	 eof;		/* from said all it had */
	int	 done;		/* and to has it all, shut for writing */
	uint64_t bytes;
};

struct relay {
	struct ev_loop *loop;
	struct relay_way way[2];	/* [0]: a to b, [1]: b to a */
	ev_timer idle;
	ev_tstamp active;
	ev_tstamp idle_s;	/* RELAY_IDLE_S, or relay_limit's */
	int64_t	*budget;	/* bytes both ways may still carry, shared
				   by the relays of one pod; NULL: no end */
	int	 fds[2];
	const char *how;	/* how it ended: "eof", "error", "idle",
				   "closed", "bytes_limit" */
	void	(*done)(struct relay *, void *);
	void	*arg;
};

/* Relay between a and b (made non-blocking, owned by r from now on);
 * done(r, arg) once it ends, both closed; r is the caller's to free
 * then. */
void	 relay_start(struct relay *, struct ev_loop *, int, int,
	    void (*)(struct relay *, void *), void *);
/* Limits of one relay, just after relay_start: idle_s seconds without a
 * byte (at most RELAY_IDLE_S), and the budget: a read that would take it
 * below zero is not passed on, the budget becomes 0 and the relay ends
 * ("bytes_limit"). */
void	 relay_limit(struct relay *, int, int64_t *);
/* End it now ("closed"): done is called. */
void	 relay_stop(struct relay *);

#endif /* NUCLEUS_RELAY_H */
