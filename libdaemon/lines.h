/*
 * A server of newline-delimited JSON over Unix sockets, on libev
 * (lines.c): the connection handling the authority and the node share.
 *
 * Each connection is bounded: ops->inflight_max[listener] lines in
 * flight (read, not yet answered) and outbuf_max unsent bytes; past
 * either it is not read until it drains.  A line longer than line_max is
 * read to its end and handed over by its length and hash only.  A
 * connection ends once its peer has ended its side and nothing is left
 * to read, answer, send or wait for.
 *
 * And in time: a line begun must end within line_s seconds while it is
 * read, and a connection that waits on its peer alone (nothing in
 * flight, held or lingering; nothing read or sent) is closed after
 * idle_s seconds; 0 is no deadline.  conns_max connections at once, and
 * conns_reserve more that only peers ops->privileged names may take; of
 * conns_max, one uid the server does not call privileged holds at most
 * conns_per_uid.
 * Past outbuf_total unsent bytes across all connections, no connection
 * holding unsent bytes is read; past outbuf_shed, those holding the most
 * are closed until the total is within it.
 */
#ifndef NUCLEUS_LINES_H
#define NUCLEUS_LINES_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <ev.h>
#include <jansson.h>
#include <sodium.h>

#include "audit.h"

#define LINES_LISTEN_MAX 4	/* sockets one server listens on */

struct lines;

struct lines_conn {
	struct lines_conn *next;
	struct lines *srv;
	int	 listener;	/* which socket accepted it */
	int	 fd;
	uid_t	 uid;		/* the peer, from SO_PEERCRED */
	int	 privileged;	/* as the server called it at accept */
	pid_t	 pid;
	ev_io	 rio, wio;
	char	 rbuf[65536];	/* read, not yet taken */
	size_t	 rlen, roff;
	char	*in;		/* a line being read */
	size_t	 inlen;
	int	 overlong;	/* discarding until the newline */
	size_t	 overlong_bytes;
	crypto_generichash_state overlong_hash;
	struct audit_buf out;	/* answers not yet written */
	size_t	 outoff;
	int	 inflight;	/* lines not yet answered (lines_hold) */
	int	 holds;		/* other reasons to stay open: the server's */
	int	 flags;		/* the server's own */
	int	 eof;		/* the peer sends no more */
	int	 closed;	/* gone; freed once nothing holds it */
	int	 lingers;	/* open on purpose while quiet (a watch):
				   never idle; the server's to set */
	size_t	 unsent;	/* counted in the server's outbuf_held */
	ev_tstamp active;	/* last read, sent, answered or released */
	ev_tstamp line_start;	/* the line being read began, or reading
				   it resumed */
	ev_timer tio;		/* the idle or slow-line deadline */
	int	 reaping;	/* on the server's dead list */
};

struct lines_ops {
	/* a line, or one over the limit by its length and hash */
	void	(*line)(struct lines_conn *, const char *, size_t);
	void	(*overlong)(struct lines_conn *, size_t, const uint8_t *);
	/* optional: -1 refuses a new connection (after queuing an answer) */
	int	(*accept)(struct lines_conn *);
	/* optional: the peer ended its side; the connection is closing */
	void	(*eof)(struct lines_conn *);
	void	(*gone)(struct lines_conn *);
	/* optional: a connection past conns_max was answered and closed */
	void	(*turned_away)(struct lines *, uid_t);
	/* optional: 1 if a peer may take a slot of conns_reserve */
	int	(*privileged)(const struct lines *, int, uid_t);
	int	 inflight_max[LINES_LISTEN_MAX];
};

struct lines {
	struct ev_loop *loop;
	const struct lines_ops *ops;
	size_t	 line_max;
	size_t	 outbuf_max;
	int	 conns_max;	/* any peer */
	int	 conns_reserve;	/* more, privileged peers only */
	int	 conns_per_uid;	/* of conns_max, one unprivileged uid's
				   at most; 0: no share */
	size_t	 outbuf_total;	/* unsent bytes, all connections: stop
				   reading those that hold some */
	size_t	 outbuf_shed;	/* past it, close those holding most */
	ev_tstamp idle_s;	/* seconds a quiet connection stays */
	ev_tstamp line_s;	/* seconds a line may take to come */
	struct lines_conn *conns;
	int	 nconns;
	size_t	 outbuf_held;	/* unsent bytes, all connections */
	ev_timer shed;		/* outbuf_shed crossed: close, from the
				   loop, not from within a send */
	struct lines_conn *dead;	/* closed, held by nothing: freed */
	ev_timer reap;		/* from the loop, once the callback that
				   closed them is done with them */
	ev_io	 listen[LINES_LISTEN_MAX];
};

int	 lines_listen_unix(struct lines *, int, const char *, gid_t,
	    struct audit_err *);
void	 lines_send(struct lines_conn *, const json_t *);
void	 lines_send_raw(struct lines_conn *, const char *, size_t);
void	 lines_hold(struct lines_conn *);
void	 lines_release(struct lines_conn *);
void	 lines_check(struct lines_conn *);

#endif /* NUCLEUS_LINES_H */
