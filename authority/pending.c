/*
 * The requests that wait for a person, in memory (rebuilt from LMDB at
 * start, recover.c): each second those past their time expire, and each
 * minute decided requests older than RETAIN_S are forgotten, with the
 * nonces past the skew window.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "authority.h"

void
pending_add(uint64_t id, int64_t expires, const char *agent)
{
	struct pend *p;

	if (A->npend < PENDING_MAX) {
		p = &A->pend[A->npend++];
		p->id = id;
		p->expires = expires;
		if (audit_fit(p->agent, sizeof(p->agent), NULL, "%s",
		    agent != NULL ? agent : "") != 0)
			p->agent[0] = '\0';
	}
}

/*
 * How many requests of agent are pending; their ids, the first max of
 * them, into ids when not NULL.
 */
int
pending_of(const char *agent, uint64_t *ids, int max)
{
	int n = 0;

	for (int i = 0; i < A->npend; i++)
		if (strcmp(A->pend[i].agent, agent) == 0) {
			if (ids != NULL && n < max)
				ids[n] = A->pend[i].id;
			n++;
		}
	return n;
}

void
pending_del(uint64_t id)
{
	for (int i = 0; i < A->npend; i++)
		if (A->pend[i].id == id) {
			A->pend[i] = A->pend[--A->npend];
			return;
		}
}

/* Expire request id, when it is still pending; queue the record. */
static void
expire_one(uint64_t id, int64_t now)
{
	struct audit_err e;
	json_t *rec = NULL;
	struct job *j;
	MDB_txn *txn;

	if (store_begin(A->store, &txn, 0, &e) != 0)
		return;
	if (store_get(A->store, txn, id, &rec) != 0 || strcmp(
	    json_string_value(json_object_get(rec, "state")), "pending") != 0) {
		mdb_txn_abort(txn);
		json_decref(rec);
		pending_del(id);
		return;
	}
	json_object_set_new(rec, "state", json_string("expired"));
	json_object_set_new(rec, "decided", json_integer(now));
	if (store_put(A->store, txn, id, rec, &e) != 0) {
		/* an open write transaction would block every later one */
		mdb_txn_abort(txn);
		fprintf(stderr, "nucleus-authority: %s\n", e.msg);
		json_decref(rec);
		return;
	}
	if (store_commit(A->store, txn, &e) != 0) {
		fprintf(stderr, "nucleus-authority: %s\n", e.msg);
		json_decref(rec);
		return;
	}
	pending_del(id);
	if ((j = job_new(NULL, id)) != NULL && job_event(j,
	    decision_event("approval.expire", rec, id)) == 0) {
		j->logged = 2;
		j->notify = json_incref(rec);
		j->watch = json_incref(rec);
		job_queue(j);
	} else
		job_free(j);
	json_decref(rec);
}

struct prune {
	int64_t	 before;
	uint64_t ids[1024];
	int	 n;
};

static int
prune_each(void *arg, uint64_t id, json_t *rec)
{
	struct prune *p = arg;
	const json_t *d = json_object_get(rec, "decided");

	if (json_is_integer(d) && json_integer_value(d) < p->before &&
	    json_integer_value(json_object_get(rec, "logged")) >= 2)
		p->ids[p->n++] = id;
	return p->n == (int)(sizeof(p->ids) / sizeof(p->ids[0]));
}

/* Forget decided requests past RETAIN_S, at most 1024 per minute. */
static void
prune(int64_t now)
{
	static struct prune p;
	struct audit_err e;
	MDB_txn *txn;

	p.before = now - RETAIN_S;
	p.n = 0;
	if (store_begin(A->store, &txn, 0, &e) != 0)
		return;
	(void)store_each(A->store, txn, prune_each, &p);
	for (int i = 0; i < p.n; i++)
		(void)store_del(A->store, txn, p.ids[i]);
	(void)store_commit(A->store, txn, &e);
	(void)store_nonce_prune(A->store, now - 2 * A->skew);
}

/* Each second: expire what waited too long; each minute: prune. */
void
pending_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	int64_t now = audit_now_s();

	(void)loop;
	(void)w;
	(void)revents;
	events_tick(&A->events);
	rwin_tick(&A->refusals, now, 0);
	job_log_retry();
	if (A->stopped)
		return;
	for (int i = 0; i < A->npend; ) {
		uint64_t id = A->pend[i].id;

		if (A->pend[i].expires <= now) {
			expire_one(id, now);
			if (i < A->npend && A->pend[i].id == id)
				i++;	/* could not: try again next tick */
		} else
			i++;
	}
	if (now - A->last_prune >= 60) {
		A->last_prune = now;
		prune(now);
	}
}
