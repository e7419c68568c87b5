/*
 * A tool call as the node sees it: one signed request for the pod, on a
 * connection kept open from call to call (made again when the node has
 * closed it), answered under its own id; several calls may be in flight
 * on it (main.c bounds them), their answers in any order.  An
 * approval_required answer, with an authority (-A), becomes an approval
 * request for exactly that operation, waited for (progress said,
 * cancellation heard), and the request made again with the token.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ask.h"
#include "mcp.h"
#include "wire.h"

struct mcp_link {
	const char *node, *authority, *pod;
	struct audit_seckey *key;
	int	 wait;		/* seconds for an approval */
	struct wire_reader r;	/* the node's connection; fd -1: none */
	unsigned long seq;	/* the last request's number */
	int	 via_node;	/* -N: approvals asked through the node */
};

/* What waiting for a line came to. */
#define GOT_LINE	0
#define GOT_ERROR	-1
#define GOT_CANCEL	-2
#define GOT_TICK	-3

struct mcp_link *
mcp_link_new(const char *node, const char *authority, const char *pod,
    struct audit_seckey *key, int wait)
{
	struct mcp_link *l = calloc(1, sizeof(*l));

	if (l == NULL)
		return NULL;
	l->node = node;
	l->authority = authority;
	l->pod = pod;
	l->key = key;
	l->wait = wait;
	l->r.fd = -1;
	l->r.max = MCP_ANSWER_MAX;
	return l;
}

/* Ask for approvals through the node, which checks them first. */
void
mcp_link_via_node(struct mcp_link *l)
{
	l->via_node = 1;
	l->authority = l->node;
}

void
mcp_link_free(struct mcp_link *l)
{
	if (l == NULL)
		return;
	wire_reader_free(&l->r);
	free(l);
}

/* The connection is open and the node has not ended it. */
static int
still_open(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c;

	if (poll(&p, 1, 0) <= 0)
		return 1;
	return recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
}

/*
 * The next line from r, by the deadline (0: none), the client's input
 * read meanwhile (w): GOT_CANCEL once it cancels the call; or GOT_TICK
 * when tick_ms (0: never) passes first.
 */
static int
next_line(struct wire_reader *r, struct mcp_wake *w, int64_t deadline,
    int tick_ms, json_t **out, struct audit_err *e)
{
	struct pollfd p[3];
	int64_t left;
	int ms, n;

	*out = NULL;
	while (r->len == 0 || memchr(r->buf, '\n', r->len) == NULL) {
		p[0] = (struct pollfd){ .fd = r->fd, .events = POLLIN };
		p[1] = (struct pollfd){ .fd = w->fd, .events = POLLIN };
		p[2] = (struct pollfd){ .fd = w->node_fd != r->fd ?
		    w->node_fd : -1, .events = POLLIN };
		left = deadline != 0 ? deadline -
		    audit_now_ms(CLOCK_MONOTONIC) : -1;
		if (deadline != 0 && left <= 0)
			return audit_errf(e, "no answer in time");
		ms = left < 0 || left > INT32_MAX ? -1 : (int)left;
		if (tick_ms > 0 && (ms < 0 || ms > tick_ms))
			ms = tick_ms;
		if ((n = poll(p, 3, ms)) < 0) {
			if (errno == EINTR)
				continue;
			return audit_errf(e, "poll: %s", strerror(errno));
		}
		if (n == 0) {
			if (tick_ms > 0)
				return GOT_TICK;
			continue;
		}
		if (w->fd >= 0 && p[1].revents != 0) {
			int rc = w->fn(w->arg);

			if (rc > 0)
				return GOT_CANCEL;
			if (rc < 0)
				w->fd = -1;
		}
		if (p[2].fd >= 0 && p[2].revents != 0)
			w->node_fn();	/* other calls' answers */
		if (p[0].revents != 0)
			break;
	}
	return wire_read(r, deadline, out, e) == 0 ? GOT_LINE : GOT_ERROR;
}

/*
 * Send one request to the node, under id; the connection made again
 * when none is open, or, when nothing else is in flight on it (idle),
 * when the node has ended it.  args is taken over.
 */
static int
node_send(struct mcp_link *l, const char *id, const char *op, json_t *args,
    json_t *approval, int idle, struct audit_err *e)
{
	json_t *o;
	int rc;

	if ((o = wire_request(id, l->pod, op, args, approval, l->key, e)) ==
	    NULL)
		return -1;
	if (idle && l->r.fd >= 0 && !still_open(l->r.fd))
		wire_reader_free(&l->r);
	l->r.max = MCP_ANSWER_MAX;
	if (l->r.fd < 0 && (l->r.fd = wire_connect(l->node, e)) < 0) {
		json_decref(o);
		return -1;
	}
	rc = wire_send(l->r.fd, o, e);
	json_decref(o);
	if (rc != 0)
		wire_reader_free(&l->r);
	return rc;
}

/*
 * One request to the node, and its answer (*out); the answers to other
 * calls in flight meanwhile go to w->answer.  args is taken over.
 */
static int
node_request(struct mcp_link *l, const char *op, json_t *args,
    json_t *approval, int idle, struct mcp_wake *w, json_t **out,
    struct audit_err *e)
{
	char id[32];
	int rc;

	*out = NULL;
	snprintf(id, sizeof(id), "m%lu", ++l->seq);
	if (node_send(l, id, op, args, approval, idle, e) != 0)
		return GOT_ERROR;
	for (;;) {
		const char *got;

		if ((rc = next_line(&l->r, w, 0, 0, out, e)) != GOT_LINE) {
			if (rc == GOT_ERROR)
				wire_reader_free(&l->r);
			return rc;
		}
		got = json_string_value(json_object_get(*out, "id"));
		if (got != NULL && strcmp(got, id) == 0)
			return GOT_LINE;
		if (w->answer != NULL)
			w->answer(*out, NULL, 0);	/* another call's */
		else
			json_decref(*out);
	}
}

/*
 * A call's request sent to the node, its id in c->rid; its answer is
 * read by mcp_link_read and taken by mcp_link_finish.  idle: nothing
 * else is in flight.
 */
int
mcp_link_send(struct mcp_link *l, struct mcp_call *c, int idle,
    struct audit_err *e)
{
	snprintf(c->rid, sizeof(c->rid), "m%lu", ++l->seq);
	return node_send(l, c->rid, mcp_tool_op(c->tool), json_deep_copy(
	    c->args), NULL, idle, e);
}

/* The node's connection (-1: none), and whether an answer is read already. */
int
mcp_link_fd(const struct mcp_link *l)
{
	return l->r.fd;
}

int
mcp_link_buffered(const struct mcp_link *l)
{
	return l->r.len > 0 && memchr(l->r.buf, '\n', l->r.len) != NULL;
}

/*
 * The node's next answer; on an error the connection is closed.  An ok
 * answer in canonical form is not parsed: *out holds only its id and ok,
 * and *raw (the caller's to free) its result's bytes, to be passed on as
 * they are (pass.c); any other answer is parsed whole (*raw NULL).
 */
int
mcp_link_read(struct mcp_link *l, json_t **out, char **raw, size_t *rawlen,
    struct audit_err *e)
{
	struct mcp_ok ok;
	json_error_t jerr;
	size_t n;

	*out = NULL;
	*raw = NULL;
	*rawlen = 0;
	if (wire_read_line(&l->r, 0, &n, e) != 0)
		goto fail;
	if (mcp_answer_scan(l->r.line, n, &ok) == 0) {
		if ((*raw = malloc(ok.resultlen + 1)) == NULL ||
		    (*out = json_pack("{s:s%, s:b}", "id", ok.id, ok.idlen,
		    "ok", 1)) == NULL) {
			free(*raw);
			*raw = NULL;
			audit_errf(e, "out of memory");
			goto fail;
		}
		memcpy(*raw, ok.result, ok.resultlen);
		(*raw)[ok.resultlen] = '\0';
		*rawlen = ok.resultlen;
		return 0;
	}
	if ((*out = json_loadb(l->r.line, n, JSON_REJECT_DUPLICATES,
	    &jerr)) != NULL && json_is_object(*out))
		return 0;
	json_decref(*out);
	*out = NULL;
	audit_errf(e, "an answer is not a JSON object");
fail:
	wire_reader_free(&l->r);
	return -1;
}

struct progress {
	mcp_progress_fn fn;
	void	*arg;
	int64_t	 start;		/* ms, monotonic */
	int64_t	 last;		/* the last progress said */
	int	 total;		/* seconds */
};

static void
progress_say(struct progress *p, const char *id)
{
	int64_t now = (audit_now_ms(CLOCK_MONOTONIC) - p->start) / 1000;
	char msg[128];

	/* Progress must increase, each notification's past the last. */
	if (now <= p->last)
		now = p->last + 1;
	p->last = now;
	snprintf(msg, sizeof(msg), "waiting for an operator's decision on "
	    "approval request %s", id != NULL ? id : "?");
	p->fn(p->arg, now, p->total, msg);
}

/*
 * Ask the authority for the approval of op with args, and wait: the
 * token into *token, or a tool error (NULL with *token NULL: cancelled).
 */
static json_t *
approval(struct mcp_link *l, const struct mcp_call *c, struct mcp_wake *w,
    struct progress *pg, json_t **token)
{
	struct wire_reader r = { .fd = -1, .max = MCP_ANSWER_MAX };
	struct audit_err e;
	json_t *o, *resp = NULL, *res = NULL, *err = NULL;
	const char *state = NULL, *rid = NULL;
	char ridbuf[64];
	int64_t deadline = wire_deadline(l->wait);
	int rc;

	*token = NULL;
	o = approval_request(l->key, l->pod, mcp_tool_op(c->tool),
	    json_deep_copy(c->args), c->reason, &e);
	if (l->via_node)
		o = approval_via_node(o, l->pod, l->key, &e);
	if (o == NULL || (r.fd = wire_connect(l->authority, &e)) < 0 ||
	    wire_send(r.fd, o, &e) != 0) {
		err = mcp_tool_error("unavailable", "the authority: %s", e.msg);
		goto out;
	}
	for (;;) {
		json_decref(resp);
		rc = next_line(&r, w, deadline, pg->fn != NULL ?
		    MCP_PROGRESS_S * 1000 : 0, &resp, &e);
		if (rc == GOT_CANCEL)
			goto out;
		if (rc == GOT_TICK) {
			progress_say(pg, rid);
			continue;
		}
		if (rc == GOT_ERROR) {
			if (strcmp(e.msg, "no answer in time") == 0)
				err = mcp_tool_error("approval_timeout", "no "
				    "operator decided within %d seconds; "
				    "approval request %s still waits", l->wait,
				    rid != NULL ? rid : "?");
			else
				err = mcp_tool_error("unavailable", "the "
				    "authority: %s", e.msg);
			goto out;
		}
		res = json_object_get(resp, "result");
		if (!json_is_true(json_object_get(resp, "ok"))) {
			const json_t *ee = json_object_get(resp, "error");

			err = mcp_tool_error("approval_refused", "the authority "
			    "refused the request: %s: %s",
			    json_string_value(json_object_get(ee, "kind")) ?:
			    "error", json_string_value(json_object_get(ee,
			    "message")) ?: "");
			goto out;
		}
		state = json_string_value(json_object_get(res, "state"));
		if (json_is_string(json_object_get(res, "id"))) {
			snprintf(ridbuf, sizeof(ridbuf), "%s", json_string_value(
			    json_object_get(res, "id")));
			rid = ridbuf;
		}
		if (state == NULL)
			state = "";
		if (strcmp(state, "pending") != 0)
			break;
		if (pg->fn != NULL)
			progress_say(pg, rid);
	}
	if (strcmp(state, "granted") == 0 &&
	    json_is_object(json_object_get(res, "token"))) {
		*token = json_deep_copy(json_object_get(res, "token"));
		goto out;
	}
	{
		const char *why = json_string_value(json_object_get(res,
		    "reason"));

		err = mcp_tool_error(strcmp(state, "expired") == 0 ?
		    "approval_expired" : "approval_denied", "approval request "
		    "%s %s by the operator%s%s", rid != NULL ? rid : "?",
		    state, why != NULL && *why != '\0' ? ": " : "",
		    why != NULL ? why : "");
	}
out:
	json_decref(resp);
	json_decref(o);
	wire_reader_free(&r);
	return err;
}

/* Ending the call with this answer would wait for an operator. */
int
mcp_link_asks(const struct mcp_link *l, const json_t *resp)
{
	const char *kind = json_string_value(json_object_get(json_object_get(
	    resp, "error"), "kind"));

	return l->authority != NULL && kind != NULL &&
	    strcmp(kind, "approval_required") == 0;
}

/* A node's answer as a tool's result. */
static json_t *
tool_result(const json_t *resp, int structured)
{
	const json_t *e = json_object_get(resp, "error");
	const char *kind = json_string_value(json_object_get(e, "kind"));
	const char *msg = json_string_value(json_object_get(e, "message"));

	if (json_is_true(json_object_get(resp, "ok")))
		return mcp_tool_ok(json_object_get(resp, "result"), structured);
	return mcp_tool_error(kind != NULL ? kind : "error", "%s",
	    msg != NULL ? msg : "(no message)");
}

/*
 * A tool call's end, from the node's answer to its request (resp, taken
 * over): its result (isError for a refusal or a failure), or NULL when it
 * was cancelled (nothing is then answered).  An approval is asked for and
 * waited for here, and the request made again with its token.  idle:
 * no other call is in flight.
 */
json_t *
mcp_link_finish(struct mcp_link *l, struct mcp_call *c, json_t *resp,
    int idle, struct mcp_wake *w, mcp_progress_fn fn, void *arg,
    int structured)
{
	struct progress pg = { .fn = c->progress != NULL ? fn : NULL,
	    .arg = arg, .start = audit_now_ms(CLOCK_MONOTONIC),
	    .total = l->wait };
	const char *op = mcp_tool_op(c->tool), *kind;
	struct audit_err e;
	json_t *token, *res;
	int rc;

	kind = json_string_value(json_object_get(json_object_get(resp,
	    "error"), "kind"));
	if (kind == NULL || strcmp(kind, "approval_required") != 0 ||
	    l->authority == NULL) {
		res = tool_result(resp, structured);
		if (kind != NULL && strcmp(kind, "approval_required") == 0) {
			json_decref(res);
			res = mcp_tool_error("approval_required", "%s; no "
			    "authority to ask (nucleus-mcp -A): an operator "
			    "must approve it, or the policy allow it",
			    json_string_value(json_object_get(json_object_get(
			    resp, "error"), "message")) ?: "");
		}
		json_decref(resp);
		return res;
	}
	json_decref(resp);
	if ((res = approval(l, c, w, &pg, &token)) != NULL ||
	    token == NULL)
		return res;	/* refused, or cancelled (NULL) */
	rc = node_request(l, op, json_deep_copy(c->args), token, idle, w,
	    &resp, &e);
	if (rc == GOT_CANCEL)
		return NULL;
	if (rc != GOT_LINE)
		return mcp_tool_error("unavailable", "the node: %s", e.msg);
	res = tool_result(resp, structured);
	json_decref(resp);
	return res;
}
