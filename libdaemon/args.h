/*
 * A tool call's arguments, by operation (args.c): the shape every party
 * checks, the proxy before it decides and the authority before an
 * operator sees a request.
 */
#ifndef NUCLEUS_ARGS_H
#define NUCLEUS_ARGS_H

#include <stddef.h>

#include <jansson.h>

#define ARGS_ARGV_MAX	256	/* items in a run's argv (POLICY_ARGV_MAX) */

int	 args_check(const char *, const json_t *, char *, size_t);

#endif /* NUCLEUS_ARGS_H */
