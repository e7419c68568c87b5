/*
 * The copy relay: each pod's audit lines go to its host copy, kept by
 * the copier thread (copyq.c), and an answer is relayed only once the
 * copy holds durably every line the pod sent before it, its record
 * among them.  A line that does not verify, or a copy that cannot be
 * written, stops the pod (relay_fault).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve.h"

/* How many records the pod's copy holds durably. */
uint64_t
relay_records(const struct pod *p)
{
	struct copyw_state st;

	if (p->cw == NULL)
		return p->lost_records;
	copyw_state(p->cw, &st);
	return st.durable;
}

/* Lines of the pod's the copier has not made durable yet. */
uint64_t
relay_behind(const struct pod *p)
{
	struct copyw_state st;

	copyw_state(p->cw, &st);
	return st.queued - st.durable;
}

/*
 * Answers whose lines the copy holds durably, in the order they came:
 * to their clients.  An answer those lines do not back (answer.c) stops
 * the pod; so does a copy that failed, whether an answer waits or not.
 */
void
relay_answers(struct pod *p)
{
	struct copyw_state st;
	struct fwd *f;
	char why[256];

	if (p->cw == NULL || p->copy_failed)
		return;
	copyw_state(p->cw, &st);
	if (st.failed) {
		relay_fault(p, st.why);
		return;
	}
	while ((f = p->relay_head) != NULL && f->need <= st.durable) {
		if (answer_backed(f, why, sizeof(why)) != 0) {
			relay_fault(p, why);
			return;
		}
		if ((p->relay_head = f->next) == NULL)
			p->relay_tail = NULL;
		if (f->answer != NULL)
			lines_send(f->conn, f->answer);
		else
			lines_send_raw(f->conn, f->raw.p, f->raw.len);
		chan_fwd_free(f);
	}
}

/*
 * The pod's audit lines did not reach the node intact, or its copy cannot
 * be written: nothing more of it is relayed, and the pod is stopped.
 */
void
relay_fault(struct pod *p, const char *why)
{
	struct fwd *f, *next;

	if (p->copy_failed)
		return;
	node_record(NULL, json_pack("{s:s, s:s, s:s, s:s, s:I}", "event",
	    "pod.audit_fault", "pod", p->spec.name, "pod_log", p->lp.log,
	    "message", why, "records", (json_int_t)relay_records(p)), NULL);
	p->copy_failed = 1;
	if (p->lp.egress != NULL)
		egress_copied(p->lp.egress);	/* refused, all */
	for (f = p->relay_head; f != NULL; f = next) {
		json_t *r = node_error(f->id, "unavailable", "the pod's audit "
		    "copy failed; the pod is stopped");

		next = f->next;
		lines_send(f->conn, r);
		json_decref(r);
		chan_fwd_free(f);
	}
	p->relay_head = p->relay_tail = NULL;
	chan_fail_fwds(p, "unavailable", "the pod's audit copy failed; the "
	    "pod is stopped");
	sandbox_kill(&p->lp.sb);
}

/*
 * Each tick: answers the pod sent for requests the node never sent are
 * dropped as they come; how many is recorded at most once a minute, so
 * a pod that floods its channel with them does not flood the log.
 */
void
relay_stray(struct pod *p, ev_tstamp now)
{
	if (p->stray == 0 || (p->stray_at != 0 &&
	    now - p->stray_at < POD_STRAY_RECORD_S))
		return;
	node_record(NULL, json_pack("{s:s, s:s, s:s, s:I}", "event",
	    "pod.stray_answers", "pod", p->spec.name, "message", "answers "
	    "for requests the node never sent, dropped", "count",
	    (json_int_t)p->stray), NULL);
	p->stray = 0;
	p->stray_at = now;
}

/* Before the loop waits: the answers whose lines are durable go. */
void
pods_flush(void)
{
	for (struct pod *p = N->pods; p != NULL; p = p->next)
		if (p->relay_head != NULL)
			relay_answers(p);
}

/*
 * The copier made copies durable: answers go, connections waiting for
 * their decision's copy go, paused pods are read; a copy that failed
 * stops its pod now, whether an answer waits or not.
 */
void
pods_copied(struct ev_loop *loop, ev_async *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	for (struct pod *p = N->pods; p != NULL; p = p->next) {
		relay_answers(p);
		chan_ack_copied(p);
		if (p->lp.egress != NULL)
			egress_copied(p->lp.egress);
		if (p->copy_paused && p->running && p->cw != NULL &&
		    relay_behind(p) < COPY_BACKLOG_MAX) {
			p->copy_paused = 0;
			ev_io_start(N->loop, &p->rio);
		}
	}
}
