/*
 * The node's pods: the table of them (pods_find), pod.create (the local
 * driver here; a VM's start in vmstart.c), pod.list, pod.status,
 * pod.stop; each second's tick (timeouts, deadlines, leftover cgroups);
 * and the reaper, which watches each pod's pidfd and records its end.
 * A pod's channel is channel.c's; its audit copy and the answers it
 * holds back, relay.c's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "serve.h"

struct pod *
pods_find(const char *name)
{
	for (struct pod *p = N->pods; p != NULL; p = p->next)
		if (strcmp(p->spec.name, name) == 0)
			return p;
	return NULL;
}

/*
 * The pod's work.copy: its path and how many entries its policy kept on
 * the host.  A lost pod's count went with the node that made it.
 */
static void
work_summary(json_t *o, const struct pod *p)
{
	if (p->spec.work[0] == '\0' || p->lost)
		return;
	json_object_set_new(o, "work", json_pack("{s:s, s:I}", "copy",
	    p->spec.work, "left_out", (json_int_t)p->lp.work_left_out));
}

/*
 * What a pod is doing.  "expired": it runs, but its policy's time window
 * has ended, so its proxy refuses every call (time_window).
 */
static const char *
pod_state(const struct pod *p)
{
	if (p->running && p->log_stopped[0] != '\0')
		return "log_stopped";	/* its proxy does nothing more */
	if (p->running)
		return (int64_t)time(NULL) >= p->not_after ? "expired" :
		    "running";
	return p->starting ? "starting" : p->lost ? "lost" : "stopped";
}

static json_t *
pod_summary(const struct pod *p)
{
	char b64[64];
	json_t *agents = json_array(), *o;

	for (size_t i = 0; i < p->spec.nagents; i++)
		json_array_append_new(agents, json_string(p->spec.agents[i]));
	audit_b64(b64, sizeof(b64), p->lp.pubkey, AUDIT_PK_LEN);
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:I, s:s, s:I, s:s, "
	    "s:i, s:{s:I, s:I, s:I, s:I, s:I}}", "pod", p->spec.name, "driver",
	    p->spec.driver, "state", pod_state(p),
	    "log", p->lp.log, "pubkey", b64, "agents", agents, "started",
	    (json_int_t)p->started, "audit_copy", p->copy_path,
	    "audit_records", (json_int_t)relay_records(p),
	    "cgroup", p->lp.cgroup, "oom_kills", p->running ?
	    cgroup_oom_kills(&p->lp.sb.cg) : 0,
	    "resources", "memory_mib",
	    (json_int_t)p->spec.lim.memory_mib, "cpus",
	    (json_int_t)(p->spec.lim.cpus_milli / 1000), "pids",
	    (json_int_t)p->spec.lim.pids, "scratch_mib",
	    (json_int_t)p->spec.lim.scratch_mib, "commands",
	    (json_int_t)p->spec.lim.commands);
	if (o != NULL && p->lp.egress != NULL)
		json_object_set_new(o, "egress_waiting", json_integer(
		    egress_waiting(p->lp.egress)));
	if (o != NULL && p->not_after != INT64_MAX)
		json_object_set_new(o, "not_after",
		    json_integer((json_int_t)p->not_after));
	if (o != NULL)
		work_summary(o, p);
	if (o != NULL && p->log_stopped[0] != '\0')
		json_object_set_new(o, "audit_stopped", json_string(
		    p->log_stopped));
	return o;
}

/*
 * The loop waits only a moment for a pod's cgroup to empty; a cgroup
 * still in use is kept and removed by a later tick.
 */
void
pods_free(struct pod *p, int wait_ms)
{
	vmegress_stop(&p->lp);
	egress_stop(p->lp.egress);
	p->lp.egress = NULL;
	if (p->hello_fd > 0)
		close(p->hello_fd - 1);
	p->hello_fd = 0;
	if (sandbox_release(&p->lp.sb, wait_ms) > 0 &&
	    N->nleftovers < NODE_PODS_MAX)
		N->leftovers[N->nleftovers++] = p->lp.sb.cg;
	podwork_close(p);
	copyw_release(p->cw);
	json_decref(p->spec_obj);
	podspec_free(&p->spec);
	audit_buf_free(&p->out);
	quota_in_held(p, 0);
	free(p->in);
	free(p);
}

void
pods_unlink(struct pod *p)
{
	for (struct pod **pp = &N->pods; *pp != NULL; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			N->npods--;
			return;
		}
}

/* The reaper: the pod's init ended (its pidfd is readable). */
void
pods_exit(struct ev_loop *loop, ev_io *w, int revents)
{
	struct pod *p = w->data;
	int code = -1, oom = cgroup_oom_kills(&p->lp.sb.cg);
	json_t *ev;

	(void)loop;
	(void)revents;
	if (p->starting) {
		vmstart_fail(p, "the VM ended while its guest booted");
		return;
	}
	ev_io_stop(N->loop, &p->exit_io);
	(void)sandbox_wait(&p->lp.sb, &code);
	chan_stopped(p, "the pod has ended");
	ev = json_pack("{s:s, s:s, s:i, s:i}", "event", "pod.exit", "pod",
	    p->spec.name, "status", code, "oom_kills", oom);
	/* Not the node's kill, and the memory limit took the proxy. */
	if (ev != NULL && oom > 0 && code == 128 + SIGKILL &&
	    !p->lp.sb.killed)
		json_object_set_new(ev, "reason", json_string("the memory "
		    "limit killed the proxy"));
	node_record(NULL, ev, NULL);
	podwork_end(p);
	podstate_forget(p->spec.name);
	pods_unlink(p);
	pods_free(p, POD_RELEASE_MS);
}

/* Say no to an admin's request: recorded, and answered when c is given. */
void
pods_refuse(struct lines_conn *c, const char *kid, const json_t *id,
    const char *pod, const char *kind, const char *why)
{
	json_t *ev = json_pack("{s:s, s:s, s:s, s:s}", "event", "pod.refused",
	    "signer", kid, "kind", kind, "message", why);

	if (pod != NULL)
		json_object_set_new(ev, "pod", json_string(pod));
	node_record(c, ev, node_error(id, kind, why));
}

void
pods_link(struct pod *p)
{
	p->next = N->pods;
	N->pods = p;
	N->npods++;
}

/*
 * A pod whose proxy has said hello and taken its key-cert: its copy is
 * opened, it is stored, served, recorded and answered for.
 */
void
pods_up(struct pod *p, struct lines_conn *c, const char *kid,
    const json_t *id, int linked)
{
	struct audit_err e;
	const char *why = NULL;
	json_t *ev;

	if ((p->cw = copyw_open(p->lp.dir, p->lp.log, p->lp.pubkey, &N->self,
	    &e)) == NULL)
		why = e.msg;
	else if (audit_fit(p->copy_path, sizeof(p->copy_path), &e, "%s",
	    p->cw->c.path) != 0)
		why = e.msg;
	else {
		p->started = (int64_t)time(NULL);
		p->not_after = podspec_not_after(&p->spec, p->started);
		p->pid_start = podstate_start_time(p->lp.sb.pid);
		if (podstate_save(p) != 0)
			why = "the pod cannot be stored";
	}
	if (why != NULL) {
		sandbox_kill(&p->lp.sb);
		podstate_forget(p->spec.name);
		pods_refuse(c, kid, id, p->spec.name, "internal", why);
		if (p->lp.chan >= 0)
			close(p->lp.chan);
		ev_io_stop(N->loop, &p->exit_io);
		if (linked)
			pods_unlink(p);
		pods_free(p, RELEASE_WAIT_MS);
		return;
	}
	/* Stored: a local pod outlives the node from now on (a VMM's
	 * start said so already). */
	if (strcmp(p->spec.driver, "local") == 0)
		sandbox_detach(&p->lp.sb);
	p->running = 1;
	ev_io_init(&p->rio, chan_read, p->lp.chan, EV_READ);
	ev_io_init(&p->wio, chan_write, p->lp.chan, EV_WRITE);
	p->rio.data = p->wio.data = p;
	ev_io_start(N->loop, &p->rio);
	if (!linked) {
		ev_io_init(&p->exit_io, pods_exit, p->lp.sb.pidfd, EV_READ);
		p->exit_io.data = p;
		ev_io_start(N->loop, &p->exit_io);
		pods_link(p);
	}
	ev = pod_summary(p);
	/* "log" is a record's own member: the pod's log is "pod_log". */
	json_object_set(ev, "pod_log", json_object_get(ev, "log"));
	json_object_del(ev, "log");
	json_object_set_new(ev, "event", json_string("pod.create"));
	json_object_set_new(ev, "signer", json_string(kid));
	json_object_del(ev, "state");
	node_record(c, ev, node_ok(id, pod_summary(p)));
}

/*
 * The log id of this start of the pod: its name, the time and 64 random
 * bits, never one an earlier pod had.  The node chooses it so that a
 * proxy cannot: it certifies a key for this id only (local_hello).
 */
int
pods_log_id(struct podspec *spec, struct audit_err *err)
{
	uint8_t r[8];
	char hex[2 * sizeof(r) + 1];

	randombytes_buf(r, sizeof(r));
	audit_hex(hex, r, sizeof(r));
	return audit_fit(spec->log, sizeof(spec->log), err, "%s.%lld.%s",
	    spec->name, (long long)time(NULL), hex);
}

/* pod.create: a local pod started and up; a VM's start begun. */
void
pods_create(struct lines_conn *c, struct gate_req *q)
{
	char dir[LOCAL_PATH_MAX];
	struct audit_err e;
	struct pod *p, *old;

	if (N->npods >= NODE_PODS_MAX) {
		pods_refuse(c, q->kid, q->id, NULL, "unavailable", "the node "
		    "runs as many pods as it may");
		return;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		pods_refuse(c, q->kid, q->id, NULL, "internal", "out of memory");
		return;
	}
	if (podspec_parse(&p->spec, json_object_get(q->obj, "args"),
	    &e) != 0) {
		free(p);
		pods_refuse(c, q->kid, q->id, NULL, "bad_request", e.msg);
		return;
	}
	if ((old = pods_find(p->spec.name)) != NULL) {
		const char *why = old->lost ? "a lost pod of that name is kept "
		    "until pod.stop removes it" : "a pod of that name is "
		    "running";

		pods_refuse(c, q->kid, q->id, p->spec.name, "bad_request", why);
		podspec_free(&p->spec);
		free(p);
		return;
	}
	if (work_check(N->lenv.work_root, &p->spec, &e) != 0) {
		pods_refuse(c, q->kid, q->id, p->spec.name, "bad_request",
		    e.msg);
		podspec_free(&p->spec);
		free(p);
		return;
	}
	p->spec_obj = json_incref(json_object_get(q->obj, "args"));
	if (audit_fit(dir, sizeof(dir), &e, "%s/%s", N->pods_dir,
	    p->spec.name) != 0 || pods_log_id(&p->spec, &e) != 0) {
		pods_refuse(c, q->kid, q->id, p->spec.name, "internal", e.msg);
		json_decref(p->spec_obj);
		podspec_free(&p->spec);
		free(p);
		return;
	}
	if (strcmp(p->spec.driver, "local") == 0) {
		if (local_start(&p->spec, &N->lenv, dir, &p->lp, &e) != 0) {
			pods_refuse(c, q->kid, q->id, p->spec.name, "internal",
			    e.msg);
			json_decref(p->spec_obj);
			podspec_free(&p->spec);
			free(p);
			return;
		}
		podwork_start(p);
		pods_up(p, c, q->kid, q->id, 0);
		return;
	}
	vmstart_begin(c, q, p, dir);
}

/* pod.list: every pod's summary. */
void
pods_list(struct lines_conn *c, struct gate_req *q)
{
	json_t *list = json_array();

	for (struct pod *p = N->pods; p != NULL; p = p->next)
		json_array_append_new(list, pod_summary(p));
	node_record(c, json_pack("{s:s, s:s, s:s}", "event", "admin", "op",
	    q->op, "signer", q->kid), node_ok(q->id, json_pack("{s:o}",
	    "pods", list)));
}

/*
 * The pod a request names.  The gate found it; should it be gone, the
 * refusal is recorded like any other.
 */
static struct pod *
named_pod(struct lines_conn *c, struct gate_req *q)
{
	struct pod *p;

	if ((p = pods_find(q->pod)) == NULL)
		pods_refuse(c, q->kid, q->id, q->pod, "unknown_pod", "no such "
		    "pod");
	return p;
}

/* pod.status: one pod's summary. */
void
pods_status(struct lines_conn *c, struct gate_req *q)
{
	struct pod *p;

	if ((p = named_pod(c, q)) == NULL)
		return;
	node_record(c, json_pack("{s:s, s:s, s:s, s:s}", "event", "admin",
	    "op", q->op, "signer", q->kid, "pod", q->pod), node_ok(q->id,
	    pod_summary(p)));
}

/* pod.stop: a running pod's init killed; a lost pod removed. */
void
pods_stop(struct lines_conn *c, struct gate_req *q)
{
	struct pod *p;

	if ((p = named_pod(c, q)) == NULL)
		return;
	if (p->lost) {
		/* A lost pod ends nothing: it is removed, its copy kept. */
		node_record(c, json_pack("{s:s, s:s, s:s, s:b}", "event",
		    "pod.stop", "signer", q->kid, "pod", q->pod, "lost", 1),
		    node_ok(q->id, json_pack("{s:s, s:s}", "pod", q->pod,
		    "state", "removed")));
		podstate_forget(p->spec.name);
		pods_unlink(p);
		pods_free(p, 0);
		return;
	}
	/* The kernel ends the rest; the reaper records the end. */
	node_record(c, json_pack("{s:s, s:s, s:s}", "event", "pod.stop",
	    "signer", q->kid, "pod", q->pod), node_ok(q->id, json_pack("{s:s, "
	    "s:s}", "pod", q->pod, "state", "stopping")));
	/*
	 * A VM still booting is failed here, not by whichever of its
	 * VMM's end and its channel's close the loop sees first: its
	 * creator always hears why.
	 */
	if (p->starting) {
		vmstart_fail(p, "pod.stop ended the VM while its guest booted");
		return;
	}
	/* A VM's work.export first, while its guest runs. */
	if (podwork_stop(p))
		return;
	sandbox_kill(&p->lp.sb);
}

/* Each second: a pod that let a request pass its deadline. */
void
pods_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	ev_tstamp now = ev_now(loop);

	(void)w;
	(void)revents;
	node_state_retry();
	node_log_retry();
	node_turned_away_record();
	rwin_tick(&N->refusals, (int64_t)time(NULL), 0);
	events_tick(&N->events);
	if (++N->ticks % NODE_PRUNE_TICKS == 0)
		gate_prune(&N->gate, (int64_t)time(NULL));
	for (int i = 0; i < N->nleftovers; )
		if (cgroup_remove(&N->leftovers[i]) == 0)
			N->leftovers[i] = N->leftovers[--N->nleftovers];
		else
			i++;
	for (struct pod *p = N->pods; p != NULL; p = p->next) {
		struct fwd **pp = &p->fwds, *f;

		/* A pod past its timeout_s is stopped; the reaper records
		 * its end. */
		if (p->running && !p->timed_out && p->spec.timeout_s > 0 &&
		    (int64_t)time(NULL) >= p->started + p->spec.timeout_s) {
			p->timed_out = 1;
			node_record(NULL, json_pack("{s:s, s:s, s:I}", "event",
			    "pod.timeout", "pod", p->spec.name, "timeout_s",
			    (json_int_t)p->spec.timeout_s), NULL);
			if (!podwork_stop(p))
				sandbox_kill(&p->lp.sb);
		}
		relay_stray(p, now);
		podwork_hold(p);
		while ((f = *pp) != NULL) {
			if (f->deadline > now) {
				pp = &f->next;
				continue;
			}
			*pp = f->next;
			chan_fwd_error(f, "unavailable", "the pod did not "
			    "answer in time");
		}
	}
}

/* The node stops: so do its pods (their ends are waited for). */
void
pods_stop_all(void)
{
	struct pod *p, *next;

	for (p = N->pods; p != NULL; p = p->next) {
		if (p->starting) {
			/* A VM still booting: never answered for. */
			vmstart_abort(p, "unavailable", "the node is stopping");
			continue;
		}
		if (!p->running)
			continue;
		node_record(NULL, json_pack("{s:s, s:s, s:s, s:s}", "event",
		    "pod.stop", "signer", N->key->kid, "pod", p->spec.name,
		    "reason", "the node is stopping"), NULL);
		sandbox_kill(&p->lp.sb);
		podstate_forget(p->spec.name);
	}
	for (p = N->pods; p != NULL; p = next) {
		next = p->next;
		chan_stopped(p, "the node is stopping");
		podwork_end(p);
		pods_free(p, 5000);
	}
	N->pods = NULL;
	N->npods = 0;
	for (int i = 0, waited = 0; i < N->nleftovers; )
		if (cgroup_remove(&N->leftovers[i]) == 0 || waited >= 5000)
			i++;
		else {
			usleep(10000);
			waited += 10;
		}
	N->nleftovers = 0;
}

/*
 * The node stops and leaves its pods running (SIGUSR2): each one's
 * requests in flight are answered unavailable, its channel closed; its
 * entry stays, and the next node on this directory takes it back
 * (podstate.c).  A VM still booting is stopped.  The number left
 * running.
 */
int
pods_leave_all(void)
{
	struct pod *p, *next;
	int left = 0;

	for (p = N->pods; p != NULL; p = p->next) {
		if (p->starting) {
			vmstart_abort(p, "unavailable", "the node is stopping");
			continue;
		}
		if (p->running)
			left++;
	}
	for (p = N->pods; p != NULL; p = next) {
		next = p->next;
		chan_stopped(p, "the node is stopping; the pod runs on, for "
		    "the next node to take back");
		if (!p->lp.sb.killed) {
			/* Neither waited for nor its cgroup removed. */
			if (p->lp.sb.pidfd >= 0)
				close(p->lp.sb.pidfd);
			p->lp.sb.pidfd = -1;
			p->lp.sb.pid = 0;
			p->lp.sb.cg.n = 0;
			pods_free(p, 0);
		} else
			pods_free(p, 5000);
	}
	N->pods = NULL;
	N->npods = 0;
	return left;
}
