/*
 * web_fetch's backend: libcurl, through the pod's own egress listener
 * (127.0.0.1:EGRESS_PORT) with a CONNECT tunnel for http and https
 * alike, so that every connection is decided, recorded and made by the
 * gateway as any client's CONNECT is.  Redirects are not left to
 * libcurl: each Location is a new fetch, a new connection and a new
 * CONNECT decision, at most FETCH_REDIRECTS_MAX of them.  TLS is
 * verified (peer and host name) against the system's CAs.  Linked only
 * into the dynamic nucleus-proxy: its constructor makes it the backend.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <sodium.h>

#include "audit.h"
#include "egress.h"
#include "fetch.h"

/* The answer's headers that matter to an agent, kept by name. */
static const char *const kept[] = {
	"content-type", "content-length", "content-encoding", "last-modified",
	"etag", "location", "retry-after",
};

#define HEADER_MAX	1024	/* bytes of one kept header's value */

struct hop {
	struct fetch *f;
	unsigned char *body;
	size_t	 len;
	int	 truncated;
	json_t	*headers;
	const char *refusal;	/* what the egress said, in words */
	char	 refused[33];	/* EGRESS_REFUSAL_HEADER of a 403 */
	char	 digest[AUDIT_HEX_LEN + 1];	/* EGRESS_DIGEST_HEADER */
};

/* A header of the egress listener's refusal, its value kept in out. */
static void
refusal_header(const char *p, size_t name, const char *v, size_t vlen,
    const char *want, char *out, size_t outsz)
{
	if (strlen(want) == name && strncasecmp(p, want, name) == 0 &&
	    vlen < outsz) {
		memcpy(out, v, vlen);
		out[vlen] = '\0';
	}
}

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct hop *h = arg;
	size_t want = size * n, room = h->f->cap - h->len;

	if (want > room) {
		h->truncated = 1;
		want = room;
	}
	memcpy(h->body + h->len, p, want);
	h->len += want;
	/* Past the cap: stop reading (an error libcurl reports, which the
	 * caller takes as the end of a truncated body). */
	return h->truncated ? 0 : size * n;
}

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct hop *h = arg;
	size_t all = size * n, len = all, name;
	const char *v;

	/* A status line starts a new answer (the CONNECT's, 1xx before
	 * the last). */
	if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
		json_object_clear(h->headers);
		h->refused[0] = h->digest[0] = '\0';
		return all;
	}
	if ((v = memchr(p, ':', len)) == NULL)
		return all;
	name = (size_t)(v - p);
	for (v++; v < p + len && (*v == ' ' || *v == '\t'); v++)
		;
	while (len > 0 && (p[len - 1] == '\r' || p[len - 1] == '\n' ||
	    p[len - 1] == ' '))
		len--;
	refusal_header(p, name, v, p + len > v ? (size_t)(p + len - v) : 0,
	    EGRESS_REFUSAL_HEADER, h->refused, sizeof(h->refused));
	refusal_header(p, name, v, p + len > v ? (size_t)(p + len - v) : 0,
	    EGRESS_DIGEST_HEADER, h->digest, sizeof(h->digest));
	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
		size_t vlen = p + len > v ? (size_t)(p + len - v) : 0;
		char lower[32];

		if (strlen(kept[i]) != name || name >= sizeof(lower))
			continue;
		for (size_t j = 0; j < name; j++)
			lower[j] = (char)tolower((unsigned char)p[j]);
		if (memcmp(lower, kept[i], name) != 0)
			continue;
		if (vlen > HEADER_MAX)
			vlen = HEADER_MAX;
		/* Not UTF-8: not kept (jansson refuses it). */
		json_object_set_new(h->headers, kept[i],
		    json_stringn(v, vlen));
	}
	return all;
}

static int
is_redirect(long status)
{
	return status == 301 || status == 302 || status == 303 ||
	    status == 307 || status == 308;
}

/* An error of kind, and why, for the agent (a long URL is cut). */
static void fail(struct fetch *, const char *, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static void
fail(struct fetch *f, const char *kind, const char *fmt, ...)
{
	va_list ap;

	f->kind = kind;
	va_start(ap, fmt);
	vsnprintf(f->why, sizeof(f->why), fmt, ap);
	va_end(ap);
}

/*
 * The egress refused the connection for url: approval_required (with
 * what a connect token must name) and invalid_approval as they are, any
 * other refusal egress_denied, the egress's own kind in the message.
 */
static void
refused(struct fetch *f, const struct hop *h, const char *url)
{
	const char *k = h->refused[0] != '\0' ? h->refused : "egress_denied";

	if (strcmp(k, "approval_required") == 0 && f->search > 0)
		fail(f, "egress_denied", "the connection for %s needs an "
		    "approval token, which a search cannot carry: the search "
		    "backend's host must not be an approval entry", url);
	else if (strcmp(k, "approval_required") == 0 && h->digest[0] != '\0') {
		memcpy(f->digest, h->digest, sizeof(f->digest));
		fail(f, "approval_required", "the connection for %s needs an "
		    "approval token%s: give one for op connect, args "
		    "{\"host\", \"port\"}, as connect_approval", url,
		    h->refusal);
	} else if (strcmp(k, "invalid_approval") == 0)
		fail(f, "invalid_approval", "the pod's egress refused the "
		    "token for the connection for %s%s (its records say why)",
		    url, h->refusal);
	else {
		int own = strcmp(k, "egress_denied") != 0;

		fail(f, "egress_denied", "the pod's egress refused the "
		    "connection for %s%s%s%s (its records say why)", url,
		    own ? ": " : "", own ? k : "", h->refusal);
	}
}

/*
 * One hop: url fetched through the egress listener.  0 with *status
 * and, for a redirect, next (the Location, resolved) set; -1 with f's
 * error set.
 */
static int
hop(CURL *c, struct hop *h, const char *url, long *status,
    char *next, size_t nextsz, struct curl_slist *proxy_headers)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct fetch *f = h->f;
	long connect_code = 0;
	char *loc = NULL;
	CURLcode rc;
	struct curl_blob blob = { (void *)(uintptr_t)f->ca, f->ca_len,
	    CURL_BLOB_NOCOPY };

	curl_easy_reset(c);
	h->refused[0] = h->digest[0] = '\0';
	h->len = 0;
	h->truncated = 0;
	json_object_clear(h->headers);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROXY, "http://127.0.0.1:" EGRESS_PORT_TEXT);
	curl_easy_setopt(c, CURLOPT_HTTPPROXYTUNNEL, 1L);
	/* The CONNECT's headers come to on_header: a refusal's kind. */
	curl_easy_setopt(c, CURLOPT_SUPPRESS_CONNECT_HEADERS, 0L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "");
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (f->ca != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob);
	if (proxy_headers != NULL)
		curl_easy_setopt(c, CURLOPT_PROXYHEADER, proxy_headers);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)FETCH_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_NOBODY, f->head ? 1L : 0L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "nucleus-proxy web_fetch");
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_HTTP_CONNECTCODE, &connect_code);
	if (connect_code == 403) {
		refused(f, h, url);
		return -1;
	}
	if (connect_code != 0 && connect_code != 200) {
		fail(f, "io_error", "the pod's egress could not connect for "
		    "%s: it answered %ld", url, connect_code);
		return -1;
	}
	if (rc == CURLE_OPERATION_TIMEDOUT) {
		fail(f, "timeout", "%s: not done within %d seconds", url,
		    FETCH_TIMEOUT_S);
		return -1;
	}
	if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && h->truncated)) {
		fail(f, "io_error", "%s: %s", url, errbuf[0] != '\0' ?
		    errbuf : curl_easy_strerror(rc));
		return -1;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	next[0] = '\0';
	if (is_redirect(*status) &&
	    curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &loc) == CURLE_OK &&
	    loc != NULL && audit_fit(next, nextsz, NULL, "%s", loc) != 0) {
		fail(f, "io_error", "%s: a redirect to a URL longer than %d "
		    "bytes", url, FETCH_URL_MAX);
		return -1;
	}
	return 0;
}

/* The body as text when it is UTF-8, else as base64. */
static void
body_into(json_t *o, const struct hop *h)
{
	json_t *s = json_stringn((const char *)h->body, h->len);
	size_t n;
	char *b;

	if (s != NULL) {
		json_object_set_new(o, "body", s);
		return;
	}
	n = sodium_base64_encoded_len(h->len, sodium_base64_VARIANT_ORIGINAL);
	if ((b = malloc(n)) == NULL)
		return;
	sodium_bin2base64(b, n, h->body, h->len,
	    sodium_base64_VARIANT_ORIGINAL);
	json_object_set_new(o, "body_base64", json_string(b));
	free(b);
}

static void
run(struct fetch *f)
{
	char url[FETCH_URL_MAX + 1], next[FETCH_URL_MAX + 1];
	struct hop h = { f, NULL, 0, 0, json_object(), "", "", "" };
	json_t *redirects = json_array();
	CURL *c = curl_easy_init();
	struct curl_slist *token = NULL;
	char *line = NULL;
	long status = 0;

	f->kind = "io_error";
	audit_fmt(f->why, sizeof(f->why), "out of memory");
	if (c == NULL || h.headers == NULL || redirects == NULL ||
	    (h.body = malloc(f->cap)) == NULL)
		goto out;
	memcpy(url, f->url, sizeof(url));
	/* The token is for the first connection alone: spent on it. */
	if (f->token != NULL) {
		if (asprintf(&line, EGRESS_TOKEN_HEADER ": %s", f->token) < 0) {
			line = NULL;
			goto out;
		}
		if ((token = curl_slist_append(NULL, line)) == NULL)
			goto out;
	}
	for (int n = 0;; n++) {
		h.refusal = n > 0 && f->token != NULL ? " (a redirect's "
		    "connection, which connect_approval does not cover)" : "";
		if (hop(c, &h, url, &status, next, sizeof(next),
		    n == 0 ? token : NULL) != 0)
			goto out;
		if (next[0] == '\0' || f->no_follow)
			break;
		if (n == FETCH_REDIRECTS_MAX) {
			fail(f, "io_error", "%s: more than %d redirects",
			    f->url, FETCH_REDIRECTS_MAX);
			goto out;
		}
		if (strncasecmp(next, "http://", 7) != 0 &&
		    strncasecmp(next, "https://", 8) != 0) {
			fail(f, "egress_denied", "%s redirects to %s, which is "
			    "not an http or https URL", url, next);
			goto out;
		}
		json_array_append_new(redirects, json_string(url));
		memcpy(url, next, sizeof(url));
	}
	f->result = json_pack("{s:s, s:I, s:O, s:I, s:b, s:O}", "url", url,
	    "status", (json_int_t)status, "headers", h.headers, "bytes",
	    (json_int_t)h.len, "truncated", h.truncated, "redirects",
	    redirects);
	if (f->result != NULL && !f->head)
		body_into(f->result, &h);
out:
	curl_slist_free_all(token);
	free(line);
	json_decref(redirects);
	json_decref(h.headers);
	free(h.body);
	if (c != NULL)
		curl_easy_cleanup(c);
}

static int
init(char *why, size_t whysz)
{
	CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);

	if (rc != CURLE_OK) {
		audit_fmt(why, whysz, "libcurl: %s", curl_easy_strerror(rc));
		return -1;
	}
	return 0;
}

static const struct fetch_backend curl_backend = { init, run };

__attribute__((constructor)) static void
curl_backend_register(void)
{
	fetch_backend = &curl_backend;
}
