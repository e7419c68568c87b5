/*
 * The threads of the daemons (a log's signer and syncer, the node's
 * copier, syncer, verifier and drains) start with every signal blocked:
 * signals are their loop's.  A process-directed signal may otherwise be
 * taken by any thread, whose handler then leaves the loop to notice it
 * at its next wakeup (a SIGHUP waited seconds, t4036).
 */
#include <pthread.h>
#include <signal.h>

#include "audit.h"

int
audit_thread_start(pthread_t *th, const pthread_attr_t *attr,
    void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(th, attr, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}
