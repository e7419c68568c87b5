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

#endif /* NUCLEUS_FDMSG_H */
