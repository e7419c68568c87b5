/*
 * The system-call filters the programs share (syscalls.c): the
 * allowlist a daemon confines itself with once set up, and the socket
 * families that reach a network, refused to what must have none.  Kept
 * out of the headers that bring <ev.h>: <seccomp.h> brings <elf.h>,
 * whose EV_NONE is libev's too.
 */
#ifndef NUCLEUS_SYSCALLS_H
#define NUCLEUS_SYSCALLS_H

#include <stddef.h>

#include <seccomp.h>

#include "audit.h"

#define SYSCALLS_ARENAS	4	/* malloc's arenas at most, once confined */

int	 syscalls_confine(const char *, const char *const *, size_t,
	    struct audit_err *);
int	 syscalls_confine_more(const char *, const char *const *, size_t,
	    int (*)(scmp_filter_ctx), struct audit_err *);
int	 syscalls_deny_net(scmp_filter_ctx);

#endif /* NUCLEUS_SYSCALLS_H */
