/*
 * An agent's side of nucleus-authority: the approval request, signed
 * with the agent's key, and the wait for its decision (ask.h).
 * nucleus-authority ask and nucleus-node approve are this, with their
 * own options around it.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "ask.h"

/* $NUCLEUS_AUTHORITY_DIR, else the authority's usual directory. */
const char *
authority_dir_default(void)
{
	const char *d = getenv("NUCLEUS_AUTHORITY_DIR");

	return d != NULL && *d != '\0' ? d : AUTHORITY_DIR_DEFAULT;
}

/*
 * The authority's error kinds that are a "no" rather than a failure:
 * who asked may not, or asked about what is not there to decide.
 */
int
authority_refused(const char *kind)
{
	static const char *const refusals[] = { "forbidden",
	    "unknown_request", "not_pending", "auth_failed", "replayed",
	    NULL };

	for (size_t i = 0; refusals[i] != NULL; i++)
		if (strcmp(kind, refusals[i]) == 0)
			return 1;
	return 0;
}

/*
 * An approval-request for op with args on pod, signed by the agent's key
 * k; args is taken over, whatever happens.
 */
json_t *
approval_request(const struct audit_seckey *k, const char *pod,
    const char *op, json_t *args, const char *reason, struct audit_err *err)
{
	json_t *o;

	if (!audit_podname_valid(pod, strlen(pod))) {
		json_decref(args);
		audit_errf(err, "%s: not a pod's name", pod);
		return NULL;
	}
	o = json_pack("{s:s, s:s, s:o, s:s}", "pod", pod, "op", op, "args",
	    args, "reason", reason != NULL ? reason : "");
	if (o == NULL) {
		audit_errf(err, "pod, op and reason must be UTF-8 text");
		return NULL;
	}
	if (wire_sign(o, "approval-request", k, err) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/*
 * The node's approval.request that carries req (taken over, whatever
 * happens) for pod, signed by k as req is: the node checks the pod and
 * the arguments, then takes req, unchanged, to its authority.
 */
json_t *
approval_via_node(json_t *req, const char *pod, const struct audit_seckey *k,
    struct audit_err *err)
{
	json_t *args;

	if (req == NULL)
		return NULL;
	if ((args = json_pack("{s:o}", "request", req)) == NULL) {
		audit_errf(err, "out of memory");
		return NULL;
	}
	return wire_request("approval", pod, "approval.request", args, NULL,
	    k, err);
}

static int
is_pending(const json_t *resp)
{
	const char *state = json_string_value(json_object_get(
	    json_object_get(resp, "result"), "state"));

	return json_is_true(json_object_get(resp, "ok")) && state != NULL &&
	    strcmp(state, "pending") == 0;
}

/*
 * The answers to an approval request until one is not "pending", by the
 * deadline (0: none); each pending one is handed to fn, if given, and
 * *out is the last.
 */
int
approval_wait(struct wire_reader *r, int64_t deadline, approval_line_fn fn,
    void *arg, json_t **out, struct audit_err *err)
{
	json_t *resp;

	*out = NULL;
	for (;;) {
		if (wire_read(r, deadline, &resp, err) != 0)
			return -1;
		if (!is_pending(resp))
			break;
		if (fn != NULL)
			fn(arg, r, resp);
		json_decref(resp);
	}
	*out = resp;
	return 0;
}

/*
 * Where an approval request stands, said as a person or a script wants
 * it: a granted token as one canonical line on stdout (unless
 * print_token is 0), anything else on stderr.  Returns APPROVAL_*.
 */
int
approval_report(const char *prog, const json_t *resp, int print_token)
{
	const json_t *res = json_object_get(resp, "result");
	const char *state = json_string_value(json_object_get(res, "state"));
	const json_t *id = json_object_get(res, "id"), *why;
	struct audit_buf b = { 0 };
	struct audit_err e;

	if (!json_is_true(json_object_get(resp, "ok")))
		return authority_refused(wire_error(prog, resp)) ?
		    APPROVAL_REFUSED : APPROVAL_ERROR;
	if (state == NULL || !json_is_string(id)) {
		fprintf(stderr, "%s: an answer without a state\n", prog);
		return APPROVAL_ERROR;
	}
	if (strcmp(state, "granted") == 0) {
		if (print_token && cjson_encode(json_object_get(res, "token"),
		    &b, &e) == 0)
			printf("%.*s\n", (int)b.len, b.p);
		audit_buf_free(&b);
		return APPROVAL_GRANTED;
	}
	fprintf(stderr, "%s: request ", prog);
	wire_escape(stderr, json_string_value(id), json_string_length(id));
	if (strcmp(state, "pending") == 0) {
		fputs(" is pending\n", stderr);
		return APPROVAL_PENDING;
	}
	fputc(' ', stderr);
	wire_escape(stderr, state, strlen(state));
	why = json_object_get(res, "reason");
	if (json_is_string(why) && json_string_length(why) > 0) {
		fputs(": ", stderr);
		wire_escape(stderr, json_string_value(why),
		    json_string_length(why));
	}
	fputc('\n', stderr);
	return APPROVAL_REFUSED;
}

/* Each answer as sent, with -j; the request's id while it waits. */
static void
pending(void *arg, const struct wire_reader *r, const json_t *resp)
{
	const struct approval_ask *a = arg;

	if (a->raw) {
		printf("%s\n", r->line);
		fflush(stdout);
	}
	(void)approval_report(a->prog, resp, 0);
}

/*
 * Ask for an approval and wait for the decision: the whole of an agent's
 * ask, said on stdout and stderr.  a->args is taken over.  Returns
 * APPROVAL_GRANTED, APPROVAL_REFUSED, or APPROVAL_ERROR (no decision in
 * a->timeout seconds included).
 */
int
approval_ask(struct approval_ask *a)
{
	struct wire_reader r = { .fd = -1, .max = a->line_max };
	struct audit_err e;
	json_t *o, *resp = NULL;
	int rc = APPROVAL_ERROR;

	o = approval_request(a->key, a->pod, a->op, a->args, a->reason, &e);
	a->args = NULL;		/* transferred */
	if (a->node != NULL) {
		o = approval_via_node(o, a->pod, a->key, &e);
		a->sock = a->node;
	}
	if (o == NULL || (r.fd = wire_connect(a->sock, &e)) < 0) {
		fprintf(stderr, "%s: %s\n", a->prog, e.msg);
		goto out;
	}
	if (wire_send(r.fd, o, &e) != 0 || approval_wait(&r,
	    wire_deadline(a->timeout), pending, a, &resp, &e) != 0) {
		fprintf(stderr, "%s: %s: %s\n", a->prog, a->sock, e.msg);
		goto out;
	}
	if (a->raw)
		printf("%s\n", r.line);
	rc = approval_report(a->prog, resp, !a->raw);
	fflush(stdout);
out:
	json_decref(resp);
	json_decref(o);
	wire_reader_free(&r);
	return rc;
}
