/*
 * The node fails closed: no answer leaves without its record.  A record
 * that cannot be made (no event, one that is not an event) turns the
 * answer into an internal error for the same request, and that is what
 * is recorded (node.internal) and sent.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve.h"
#include "tap.h"

static struct node node;

static json_t *
answer(void)
{
	json_t *id = json_string("r-1"), *a;

	a = node_ok(id, json_pack("{s:s}", "pod", "p-0001"));
	json_decref(id);	/* node_ok holds its own */
	return a;
}

/* Is a an internal error for request r-1? */
static int
internal(const json_t *a)
{
	const char *kind = json_string_value(json_object_get(
	    json_object_get(a, "error"), "kind"));

	return a != NULL && json_is_false(json_object_get(a, "ok")) &&
	    kind != NULL && strcmp(kind, "internal") == 0 &&
	    json_is_string(json_object_get(a, "id")) &&
	    strcmp(json_string_value(json_object_get(a, "id")), "r-1") == 0;
}

static void
job_drop(struct njob *j)
{
	json_decref(j->event);
	json_decref(j->answer);
	free(j);
}

/* node_record_job: each way a record cannot be made, and one that can. */
static void
jobs(void)
{
	static const char *const bad[] = { "[1]", "{}", "{\"event\":\"\"}",
	    "{\"event\":5}", "{\"event\":\"admin\",\"seq\":3}" };
	struct audit_err e;
	struct njob *j;
	json_t *a = answer();

	ok(node_record_job(NULL, &a, &e) == NULL && internal(a),
	    "no event: the answer is an internal error");
	json_decref(a);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		a = answer();
		ok(node_record_job(json_loads(bad[i], 0, NULL), &a, &e) == NULL &&
		    internal(a), "%s is no event: the answer is internal",
		    bad[i]);
		json_decref(a);
	}
	a = NULL;
	ok(node_record_job(NULL, &a, &e) == NULL && a == NULL,
	    "no event and no answer: nothing to send");
	a = answer();
	j = node_record_job(json_pack("{s:s}", "event", "admin"), &a, &e);
	ok(j != NULL && a == NULL && json_is_true(json_object_get(j->answer,
	    "ok")), "an event: its answer waits in the job");
	if (j != NULL)
		job_drop(j);
}

/* node_record: what is queued for the log is the record of the answer. */
static void
queued(void)
{
	struct njob *j;
	const char *ev;

	N = &node;
	node_record(NULL, json_pack("{s:i}", "event", 1), answer());
	j = N->batch_head;
	ev = j != NULL ? json_string_value(json_object_get(j->event,
	    "event")) : NULL;
	ok(j != NULL && j->next == NULL && ev != NULL &&
	    strcmp(ev, "node.internal") == 0,
	    "a record that is not one: node.internal is recorded instead");
	ok(j != NULL && internal(j->answer),
	    "and the answer that waits for it is internal");
	if (j != NULL)
		job_drop(j);
	N->batch_head = N->batch_tail = NULL;
	node_record(NULL, json_pack("{s:s}", "event", "admin"), answer());
	j = N->batch_head;
	ok(j != NULL && json_is_true(json_object_get(j->answer, "ok")),
	    "a record that is one: the answer waits for it as it is");
	if (j != NULL)
		job_drop(j);
	N->batch_head = N->batch_tail = NULL;
}

int
main(void)
{
	jobs();
	queued();
	return done_testing();
}
