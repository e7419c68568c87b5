/*
 * Searches (search.c): glob and grep, on a bounded walk that never
 * follows a symbolic link.
 */
#ifndef NUCLEUS_SEARCH_H
#define NUCLEUS_SEARCH_H

#include <jansson.h>

struct fsop;

json_t	*search_glob(struct fsop *, const json_t *);
json_t	*search_grep(struct fsop *, const json_t *);

#endif /* NUCLEUS_SEARCH_H */
