/*
 * libFuzzer target: web_search's parts (proxy/websearch.c,
 * libdaemon/webconf.c): a search backend's answer read into results, a
 * URL template checked and a query put in it.  Nothing may crash or
 * leak; a refusal says why; results are within their bounds, each with
 * an http(s) url.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "websearch.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
template(const uint8_t *data, size_t size)
{
	char t[SEARCH_TEMPLATE_MAX + 2], url[FETCH_URL_MAX + 1], why[256];
	static const char q[] = "a b/\xc3\xa9&{query}";

	if (size > SEARCH_TEMPLATE_MAX + 1)
		return;
	memcpy(t, data, size);
	t[size] = '\0';
	why[0] = '\0';
	if (webconf_search_check(t, why, sizeof(why)) != 0) {
		if (why[0] == '\0')
			abort();
		return;
	}
	/* A template accepted always makes a URL for the longest query. */
	if (websearch_url(t, q, sizeof(q) - 1, url, sizeof(url)) != 0 ||
	    strlen(url) > FETCH_URL_MAX || strstr(url, SEARCH_PLACEHOLDER))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[256];
	json_t *r, *v;
	size_t i;

	template(data, size);
	why[0] = '\0';
	if ((r = websearch_answer((const char *)data, size, 200, 0,
	    SEARCH_RESULTS_MAX, why, sizeof(why))) == NULL) {
		if (why[0] == '\0')
			abort();
		return 0;
	}
	if (json_array_size(r) > SEARCH_RESULTS_MAX)
		abort();
	json_array_foreach(r, i, v) {
		const char *u = json_string_value(json_object_get(v, "url"));

		if (json_string_length(json_object_get(v, "title")) >
		    SEARCH_TITLE_MAX || json_string_length(json_object_get(v,
		    "snippet")) > SEARCH_SNIPPET_MAX || u == NULL ||
		    (strncasecmp(u, "http://", 7) != 0 &&
		    strncasecmp(u, "https://", 8) != 0))
			abort();
	}
	json_decref(r);
	return 0;
}
