/*
 * The completion queue of a daemon's audit log (doneq.c).  A record's
 * completion comes back on the log's own thread; it is queued here, and
 * an ev_async wakes the event loop, which takes the whole queue in the
 * order the records completed.  Items are the caller's structs, linked
 * through a next pointer of theirs (at link, from offsetof).
 */
#ifndef NUCLEUS_DONEQ_H
#define NUCLEUS_DONEQ_H

#include <stddef.h>

#include <pthread.h>

#include <ev.h>

struct doneq {
	pthread_mutex_t mu;
	void	*head, *tail;
	size_t	 link;		/* where an item's next pointer is */
	struct ev_loop *loop;
	ev_async async;
};

void	 doneq_init(struct doneq *, struct ev_loop *, size_t,
	    void (*)(struct ev_loop *, ev_async *, int));
void	 doneq_push(struct doneq *, void *);
void	 doneq_wake(struct doneq *);
void	*doneq_take(struct doneq *);

#endif /* NUCLEUS_DONEQ_H */
