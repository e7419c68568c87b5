/*
 * Sandboxes (sandbox.c): the filters and rulesets commands run under,
 * and the proxy's own allowlist.
 */
#ifndef NUCLEUS_SANDBOX_H
#define NUCLEUS_SANDBOX_H

#include <seccomp.h>

#include "audit.h"

scmp_filter_ctx sandbox_command_filter(int, struct audit_err *);
int	 sandbox_landlock(const char *, int, int *, struct audit_err *);
int	 sandbox_landlock_abi(void);
int	 sandbox_self(int, int, struct audit_err *);

#endif
