/*
 * web_search (websearch.c): a query sent to the node's search backend,
 * a JSON search API whose URL template the node gives the pod file
 * (nucleus-node serve -S, never the pod), fetched as web_fetch is
 * (fetch.c), through the pod's own egress: the backend's host must be
 * on the pod's network allowlist, and its connection is decided and
 * recorded.  The backend answers
 *
 *	{"results":[{"title":T,"url":U,"snippet":S}, ...]}
 *
 * (other members ignored, snippet optional); anything else is an
 * io_error saying what was wrong.
 */
#ifndef NUCLEUS_WEBSEARCH_H
#define NUCLEUS_WEBSEARCH_H

#include <stddef.h>

#include <jansson.h>

#include "fetch.h"
#include "webconf.h"

#define SEARCH_RESULTS_DEFAULT	10	/* results without max_results */
#define SEARCH_RESPONSE_MAX	262144	/* bytes of the backend's answer */
#define SEARCH_TITLE_MAX	512	/* bytes of a result's title, cut */
#define SEARCH_SNIPPET_MAX	2048	/* bytes of a result's snippet, cut */

/* The query, each byte percent-encoded, fits the longest URL. */
_Static_assert(SEARCH_TEMPLATE_MAX + 3 * SEARCH_QUERY_MAX <= FETCH_URL_MAX,
    "a search URL fits FETCH_URL_MAX");

int	 websearch_url(const char *, const char *, size_t, char *, size_t);
json_t	*websearch_answer(const char *, size_t, long, int, size_t, char *,
	    size_t);

#endif /* NUCLEUS_WEBSEARCH_H */
