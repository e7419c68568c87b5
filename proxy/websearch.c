/*
 * web_search's own parts: the node's URL template checked, a query's
 * args checked, the URL made (the query percent-encoded into the
 * template's one SEARCH_PLACEHOLDER), and the backend's answer read into
 * results of title, url and snippet, bounded.  The fetch itself is
 * fetch.c's.  Pure functions: the unit and fuzz tests call them alone.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "audit.h"
#include "websearch.h"

/*
 * The search URL: template with its placeholder replaced by the query
 * (qlen bytes), every byte but RFC 3986's unreserved ones as %XX.  0, or
 * -1 when it does not fit out.
 */
int
websearch_url(const char *template, const char *q, size_t qlen, char *out,
    size_t outsz)
{
	static const char hex[] = "0123456789ABCDEF";
	const char *p = strstr(template, SEARCH_PLACEHOLDER);
	size_t n = 0, head;

	if (p == NULL)
		return -1;
	head = (size_t)(p - template);
	if (head >= outsz)
		return -1;
	memcpy(out, template, head);
	n = head;
	for (size_t i = 0; i < qlen; i++) {
		unsigned char c = (unsigned char)q[i];

		if (n + 4 > outsz)
			return -1;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~')
			out[n++] = (char)c;
		else {
			out[n++] = '%';
			out[n++] = hex[c >> 4];
			out[n++] = hex[c & 15];
		}
	}
	return audit_fit(out + n, outsz - n, NULL, "%s", p +
	    strlen(SEARCH_PLACEHOLDER)) != 0 ? -1 : 0;
}

/* s, cut to at most max bytes at a UTF-8 character's boundary. */
static json_t *
cut(const json_t *s, size_t max)
{
	const char *p = json_string_value(s);
	size_t n = json_string_length(s);

	if (n > max) {
		n = max;
		while (n > 0 && ((unsigned char)p[n] & 0xc0) == 0x80)
			n--;
	}
	return json_stringn(p, n);
}

static json_t *
bad_answer(char *why, size_t whysz, const char *what)
{
	audit_fmt(why, whysz, "the search backend's answer %s", what);
	return NULL;
}

/* One result: title and url strings (url http or https), snippet. */
static json_t *
result_of(const json_t *o, size_t i, char *why, size_t whysz)
{
	const json_t *t = json_object_get(o, "title");
	const json_t *u = json_object_get(o, "url");
	const json_t *s = json_object_get(o, "snippet");
	const char *us = json_string_value(u);

	if (!json_is_object(o) || !json_is_string(t) || !json_is_string(u) ||
	    (s != NULL && !json_is_string(s))) {
		audit_fmt(why, whysz, "the search backend's answer is not "
		    "of the expected shape: results[%zu] is not an object of "
		    "strings title, url and snippet", i);
		return NULL;
	}
	if (json_string_length(u) > FETCH_URL_MAX ||
	    (strncasecmp(us, "http://", 7) != 0 &&
	    strncasecmp(us, "https://", 8) != 0)) {
		audit_fmt(why, whysz, "the search backend's answer is not "
		    "of the expected shape: results[%zu].url is not an http "
		    "or https URL of at most %d bytes", i, FETCH_URL_MAX);
		return NULL;
	}
	return json_pack("{s:o, s:O, s:o}", "title", cut(t, SEARCH_TITLE_MAX),
	    "url", u, "snippet", s != NULL ? cut(s, SEARCH_SNIPPET_MAX) :
	    json_string(""));
}

/*
 * The backend's answer (len bytes of body, its HTTP status, whether it
 * was longer than SEARCH_RESPONSE_MAX) as at most max results; NULL with
 * why when it is not a good answer.
 */
json_t *
websearch_answer(const char *body, size_t len, long status, int truncated,
    size_t max, char *why, size_t whysz)
{
	json_t *o, *list, *out, *r, *v;
	json_error_t jerr;
	size_t i;

	if (status != 200) {
		audit_fmt(why, whysz, "the search backend answered HTTP %ld, "
		    "not 200", status);
		return NULL;
	}
	if (truncated) {
		audit_fmt(why, whysz, "the search backend's answer is longer "
		    "than %d bytes", SEARCH_RESPONSE_MAX);
		return NULL;
	}
	if (body == NULL)
		return bad_answer(why, whysz, "is not JSON (not UTF-8 text)");
	if ((o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL)
		return bad_answer(why, whysz, "is not JSON");
	list = json_object_get(o, "results");
	if (!json_is_object(o) || !json_is_array(list)) {
		json_decref(o);
		return bad_answer(why, whysz, "is not of the expected shape: "
		    "{\"results\":[{\"title\",\"url\",\"snippet\"}, ...]}");
	}
	if ((out = json_array()) == NULL) {
		json_decref(o);
		audit_fmt(why, whysz, "out of memory");
		return NULL;
	}
	json_array_foreach(list, i, v) {
		if (i == max)
			break;
		if ((r = result_of(v, i, why, whysz)) == NULL ||
		    json_array_append_new(out, r) != 0) {
			json_decref(out);
			json_decref(o);
			return NULL;
		}
	}
	json_decref(o);
	return out;
}
