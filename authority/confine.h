/*
 * The authority's own seccomp allowlist (confine.c).  Kept apart from
 * authority.h: <seccomp.h> brings <elf.h>, whose EV_NONE is libev's too.
 */
#ifndef NUCLEUS_CONFINE_H
#define NUCLEUS_CONFINE_H

#include "audit.h"

int	 confine_landlock_abi(void);
int	 confine_self(int, struct audit_err *);

#endif
