/*
 * web_fetch on the loop's side: the args' meaning checked, the fetches
 * running counted (FETCHES_MAX), each one given a thread of its own for
 * the backend, and its result made the request's response and outcome
 * when it comes back through the completion queue (STAGE_FETCH).  The
 * decision record is durable before the thread starts: the fetch is a
 * side effect, as a command is.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fetch.h"
#include "proxy.h"
#include "pstate.h"
#include "websearch.h"

const struct fetch_backend *fetch_backend;
static int running;		/* fetches taken, not yet done (loop only) */
static struct audit_buf ca;	/* the CAs trusted when the node adds some */

/*
 * The node's extra CAs (pod file fetch_ca) join the system's store as
 * the pod sees it (FETCH_SYSTEM_CA, when the node binds it in): libcurl
 * takes one bundle, and a bundle given replaces its default.
 */
static int
ca_load(char *why, size_t whysz)
{
	char buf[65536];
	size_t total = 0;
	ssize_t n;
	int fd;

	if ((fd = open(FETCH_SYSTEM_CA, O_RDONLY | O_CLOEXEC)) >= 0) {
		while ((n = read(fd, buf, sizeof(buf))) > 0 &&
		    (total += (size_t)n) <= FETCH_SYSTEM_CA_MAX)
			if (audit_buf_add(&ca, buf, (size_t)n) != 0)
				break;
		close(fd);
		if (n != 0) {
			audit_fmt(why, whysz, "%s: unreadable, or longer than "
			    "%d bytes", FETCH_SYSTEM_CA, FETCH_SYSTEM_CA_MAX);
			return -1;
		}
	} else if (errno != ENOENT) {
		audit_fmt(why, whysz, "%s: %s", FETCH_SYSTEM_CA,
		    strerror(errno));
		return -1;
	}
	if (audit_buf_add(&ca, "\n", 1) != 0 || audit_buf_add(&ca,
	    P->cfg.fetch_ca, strlen(P->cfg.fetch_ca)) != 0) {
		audit_fmt(why, whysz, "out of memory");
		return -1;
	}
	return 0;
}

/* The backend's set-up, before threads and the filter. */
int
fetch_init(char *why, size_t whysz)
{
	if (fetch_backend == NULL || P->cfg.net == NULL)
		return 0;
	if (P->cfg.fetch_ca != NULL && ca_load(why, whysz) != 0)
		return -1;
	return fetch_backend->init(why, whysz);
}

/*
 * May one more fetch start?  0, and it is counted; -1 with why, and the
 * kind the caller answers with (r->kind), when it may not.
 */
int
fetch_take(int search, const char **kind, char *why, size_t whysz)
{
	*kind = "unavailable";
	if (search && P->cfg.search_url == NULL) {
		audit_fmt(why, whysz, "the node has no search backend "
		    "(nucleus-node serve -S)");
		return -1;
	}
	*kind = "egress_denied";
	if (P->cfg.net == NULL) {
		audit_fmt(why, whysz, "the pod has no network member: no "
		    "connection leaves it");
		return -1;
	}
	if (fetch_backend == NULL) {
		audit_fmt(why, whysz, "this build of nucleus-proxy has no "
		    "HTTP client (web_fetch needs libcurl)");
		*kind = "unavailable";
		return -1;
	}
	*kind = "unavailable";
	if (running >= FETCHES_MAX) {
		audit_fmt(why, whysz, "%d fetches are running; the limit is "
		    "%d", running, FETCHES_MAX);
		return -1;
	}
	running++;
	return 0;
}

/* A fetch taken and not started (its budget refused). */
void
fetch_give(void)
{
	running--;
}

static void *
fetch_thread(void *arg)
{
	struct req *r = arg;
	struct fetch *f = r->fetch;
	json_t *body, *results;

	fetch_backend->run(f);
	/* A search: the backend's answer read into results, or why not. */
	if (f->search > 0 && f->result != NULL) {
		body = json_object_get(f->result, "body");
		results = websearch_answer(json_string_value(body),
		    json_string_length(body), (long)json_integer_value(
		    json_object_get(f->result, "status")), json_is_true(
		    json_object_get(f->result, "truncated")), f->search,
		    f->why, sizeof(f->why));
		json_decref(f->result);
		f->result = results == NULL ? NULL : json_pack("{s:o}",
		    "results", results);
		f->kind = "io_error";
	}
	record_done(r, 0, 0, NULL);
	return NULL;
}

/* web_fetch's args into r->fetch. */
static int
fetch_of(struct req *r)
{
	const json_t *m = json_object_get(r->args, "method");
	const json_t *cap = json_object_get(r->args, "max_bytes");
	const json_t *tok = json_object_get(r->args, "connect_approval");
	struct fetch *f = r->fetch;

	/* Checked by fetch_check: it fits. */
	memcpy(f->url, json_string_value(json_object_get(r->args, "url")),
	    json_string_length(json_object_get(r->args, "url")) + 1);
	f->head = m != NULL && strcmp(json_string_value(m), "HEAD") == 0;
	f->cap = cap != NULL ? (size_t)json_integer_value(cap) :
	    FETCH_BODY_DEFAULT;
	/* One line of JSON: a header's value. */
	if (tok != NULL && (f->token = json_dumps(tok, JSON_COMPACT)) == NULL)
		return -1;
	return 0;
}

/* web_search's args into r->fetch: the backend's URL for the query. */
static int
search_of(struct req *r)
{
	const json_t *q = json_object_get(r->args, "query");
	const json_t *m = json_object_get(r->args, "max_results");
	struct fetch *f = r->fetch;

	/* Checked (websearch_check, the template by config.c): it fits. */
	if (websearch_url(P->cfg.search_url, json_string_value(q),
	    json_string_length(q), f->url, sizeof(f->url)) != 0)
		return -1;
	f->cap = SEARCH_RESPONSE_MAX;
	f->no_follow = 1;
	f->search = m != NULL ? (size_t)json_integer_value(m) :
	    SEARCH_RESULTS_DEFAULT;
	return 0;
}

/*
 * Start r's fetch on a thread of its own; it comes back to
 * request_advance in STAGE_FETCH.  -1 with r->d.reason set when it
 * cannot start.
 */
int
fetch_start(struct req *r)
{
	pthread_attr_t attr;
	pthread_t t;
	int rc;

	if ((r->fetch = calloc(1, sizeof(*r->fetch))) == NULL ||
	    (r->pop == OP_WEB_SEARCH ? search_of(r) : fetch_of(r)) != 0) {
		if (r->fetch != NULL)
			free(r->fetch->token);
		free(r->fetch);
		r->fetch = NULL;
		running--;
		audit_fmt(r->d.reason, sizeof(r->d.reason), "out of memory");
		return -1;
	}
	r->fetch->ca = ca.len > 0 ? ca.p : NULL;
	r->fetch->ca_len = ca.len;
	r->stage = STAGE_FETCH;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&t, &attr, fetch_thread, r);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		running--;
		free(r->fetch->token);
		free(r->fetch);
		r->fetch = NULL;
		r->stage = STAGE_EFFECT;
		audit_fmt(r->d.reason, sizeof(r->d.reason), "cannot start a "
		    "fetch: %s", strerror(rc));
		return -1;
	}
	return 0;
}

/* r's fetch came back: its response and outcome, then its record. */
void
fetch_done(struct req *r)
{
	struct fetch *f = r->fetch;

	running--;
	pstate_settle(P->state, r->reserved, r->reserved);
	r->reserved = 0;
	r->stage = STAGE_EFFECT;
	if (r->outcome == NULL)
		r->outcome = json_object();
	if (f->result == NULL) {
		r->response = respond_error(r, f->kind, f->why);
		/* What a connect token must name, as a refusal says it. */
		if (f->digest[0] != '\0')
			json_object_update_new(json_object_get(r->response,
			    "error"), json_pack("{s:s, s:s, s:s}", "op",
			    "connect", "args_digest", f->digest, "obligation",
			    "web_fetch"));
		json_object_set_new(r->outcome, "status", json_string("error"));
		json_object_set_new(r->outcome, "kind", json_string(f->kind));
		json_object_set_new(r->outcome, "reason", json_string(f->why));
	} else if (f->search > 0) {
		json_object_set_new(r->outcome, "status", json_string("ok"));
		/* What was searched for (SEARCH_QUERY_MAX bytes at most). */
		json_object_set(r->outcome, "query", json_object_get(r->args,
		    "query"));
		json_object_set_new(r->outcome, "results", json_integer(
		    (json_int_t)json_array_size(json_object_get(f->result,
		    "results"))));
		r->response = respond_ok(r, f->result);
		f->result = NULL;
	} else {
		json_object_set_new(r->outcome, "status", json_string("ok"));
		json_object_set(r->outcome, "http_status",
		    json_object_get(f->result, "status"));
		json_object_set(r->outcome, "url",
		    json_object_get(f->result, "url"));
		json_object_set(r->outcome, "bytes",
		    json_object_get(f->result, "bytes"));
		r->response = respond_ok(r, f->result);
		f->result = NULL;
	}
	free(f->token);
	free(f);
	r->fetch = NULL;
	request_advance(r);
}
