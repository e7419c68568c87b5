/*
 * An init's wait (reap.c): pid 1 of a namespace reaps every orphan that
 * comes back to it, until the one process it runs for has exited.
 */
#ifndef NUCLEUS_REAP_H
#define NUCLEUS_REAP_H

#include <sys/types.h>

int	 reap_until(pid_t, int *);

#endif /* NUCLEUS_REAP_H */
