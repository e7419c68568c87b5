/*
 * Commands, the proxy's side (exec.c).
 */
#ifndef NUCLEUS_EXEC_H
#define NUCLEUS_EXEC_H

#include "proxy.h"

void	 exec_argv(const json_t *, const char **, size_t *);
int64_t	 exec_cost(const json_t *);
int	 exec_check(const json_t *, char *, size_t);
int	 exec_start(struct req *);
int	 exec_init(struct proxy *, int, struct audit_err *);

#endif
