/*
 * One message with at most one descriptor beside it (SCM_RIGHTS), on the
 * SOCK_SEQPACKET control sockets between the proxy, the node and the
 * gateway (fdmsg.c): never blocking, never raising SIGPIPE.
 */
#ifndef NUCLEUS_FDMSG_H
#define NUCLEUS_FDMSG_H

#include <stddef.h>
#include <sys/types.h>

ssize_t	 fdmsg_send(int, const void *, size_t, int);
ssize_t	 fdmsg_recv(int, void *, size_t, int *);

/*
 * The messages a peer's socket could not take yet, in the order made
 * (each with a copy of its descriptor): a message is never dropped
 * because its peer is slow to read.  The caller watches the socket for
 * writing while fdmsg_q_flush says some wait, and bounds q->n (stops
 * reading the peer, say) where its peer decides how many are made.
 */
struct fdmsg_q_item;

struct fdmsg_q {
	struct fdmsg_q_item *head, **tail;
	int	 n;		/* waiting */
};

void	 fdmsg_q_init(struct fdmsg_q *);
/* Sent now when nothing waits and the socket takes it, else kept: 0, or
 * -1 when it could not be kept (out of memory or descriptors) or the
 * peer is gone (dropped: nothing more reaches it). */
int	 fdmsg_q_send(struct fdmsg_q *, int, const void *, size_t, int);
/* What waits, while the socket takes it: 1 when some still wait. */
int	 fdmsg_q_flush(struct fdmsg_q *, int);
void	 fdmsg_q_free(struct fdmsg_q *);

#endif /* NUCLEUS_FDMSG_H */
