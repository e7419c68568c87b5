/*
 * A Unix socket's address from its path (sockaddr.c): the whole path in
 * sun_path, or an error naming it; never a shorter path, which would be
 * another socket.
 */
#ifndef NUCLEUS_SOCKADDR_H
#define NUCLEUS_SOCKADDR_H

#include <sys/socket.h>
#include <sys/un.h>

#include "audit.h"

int	 sockaddr_un_fill(struct sockaddr_un *, const char *,
	    struct audit_err *) __attribute__((warn_unused_result));

#endif /* NUCLEUS_SOCKADDR_H */
