/*
 * A tool call's arguments, by operation (args.c): the shape every party
 * checks, the proxy before it decides and the authority before an
 * operator sees a request.
 */
#ifndef NUCLEUS_ARGS_H
#define NUCLEUS_ARGS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define ARGS_ARGV_MAX	256	/* items in a run's argv (POLICY_ARGV_MAX) */
#define ARGS_OFFSET_MAX	(INT64_MAX / 2)	/* a read's offset */
#define ARGS_PATTERN_MAX 4096	/* bytes of a grep pattern (GREP_LINE_MAX) */
#define FETCH_URL_MAX	2048	/* bytes of a URL, each hop's too */
#define FETCH_BODY_MAX	1048576	/* the most a web_fetch's max_bytes may ask */
#define SEARCH_QUERY_MAX 512	/* bytes of a web_search's query */
#define SEARCH_RESULTS_MAX 20	/* the most its max_results may ask */

int	 args_check(const char *, const json_t *, char *, size_t);

#endif /* NUCLEUS_ARGS_H */
