/*
 * The node's pods: pod.create (the local driver), pod.list, pod.status,
 * pod.stop; the one channel per pod, on which requests go out renamed
 * "n<seq>" (so that two clients' ids never meet) and answers come back
 * and are routed by that name; a deadline for each; and the reaper,
 * which watches each pod's pidfd and records its end.  The same channel
 * brings the pod's audit lines, ahead of the answers they back: each goes
 * to the pod's host copy, kept by the copier thread (copyq.c), and an
 * answer is relayed only once the copy holds durably every line the pod
 * sent before it, its record among them (relay).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "serve.h"
#include "nonces.h"

#define RECORD_END	"\"type\":\"audit\",\"v\":1}"

static void pod_read(struct ev_loop *, ev_io *, int);
static void pod_write(struct ev_loop *, ev_io *, int);
static void pod_exit(struct ev_loop *, ev_io *, int);
static void copy_fault(struct pod *, const char *);
static void fwd_free(struct fwd *);
static void start_fail(struct pod *, const char *);

struct pod *
pod_find(const char *name)
{
	for (struct pod *p = N->pods; p != NULL; p = p->next)
		if (strcmp(p->spec.name, name) == 0)
			return p;
	return NULL;
}

/* How many records the pod's copy holds durably. */
static uint64_t
records(const struct pod *p)
{
	struct copyw_state st;

	if (p->cw == NULL)
		return p->lost_records;
	copyw_state(p->cw, &st);
	return st.durable;
}

static json_t *
pod_summary(const struct pod *p)
{
	char b64[64];
	json_t *agents = json_array();

	for (size_t i = 0; i < p->spec.nagents; i++)
		json_array_append_new(agents, json_string(p->spec.agents[i]));
	audit_b64(b64, sizeof(b64), p->lp.pubkey, AUDIT_PK_LEN);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:I, s:s, s:I, s:s, "
	    "s:i, s:{s:I, s:I, s:I, s:I}}", "pod", p->spec.name, "driver",
	    p->spec.driver, "state", p->running ? "running" : p->starting ?
	    "starting" : p->lost ?
	    "lost" : "stopped",
	    "log", p->lp.log, "pubkey", b64, "agents", agents, "started",
	    (json_int_t)p->started, "audit_copy", p->copy_path,
	    "audit_records", (json_int_t)records(p),
	    "cgroup", p->lp.cgroup, "oom_kills", p->running ?
	    cgroup_oom_kills(&p->lp.sb.cg) : 0,
	    "resources", "memory_mib",
	    (json_int_t)p->spec.lim.memory_mib, "cpus",
	    (json_int_t)(p->spec.lim.cpus_milli / 1000), "pids",
	    (json_int_t)p->spec.lim.pids, "scratch_mib",
	    (json_int_t)p->spec.lim.scratch_mib);
}

/* Answer every request still waiting on p with kind. */
static void
fail_fwds(struct pod *p, const char *kind, const char *why)
{
	struct fwd *f, *next;

	for (f = p->fwds; f != NULL; f = next) {
		json_t *r = node_error(f->id, kind, why);

		next = f->next;
		lines_send(f->conn, r);
		json_decref(r);
		fwd_free(f);
	}
	p->fwds = NULL;
}

static void
fwd_free(struct fwd *f)
{
	json_decref(f->answer);
	audit_buf_free(&f->raw);
	json_decref(f->id);
	lines_release(f->conn);
	free(f);
}

/* Lines of the pod's the copier has not made durable yet. */
static uint64_t
behind(const struct pod *p)
{
	struct copyw_state st;

	copyw_state(p->cw, &st);
	return st.queued - st.durable;
}

/*
 * Answers whose lines the copy holds durably, in the order they came:
 * to their clients.  An answer naming a record that was not among the
 * lines before it stops the pod.
 */
static void
relay(struct pod *p)
{
	struct copyw_state st;
	struct fwd *f;

	if (p->relay_head == NULL || p->cw == NULL || p->copy_failed)
		return;
	copyw_state(p->cw, &st);
	if (st.failed) {
		copy_fault(p, st.why);
		return;
	}
	while ((f = p->relay_head) != NULL && f->need <= st.durable) {
		if (f->need_seq > st.durable_seq) {
			copy_fault(p, "the pod answered before its audit record "
			    "reached the node");
			return;
		}
		if ((p->relay_head = f->next) == NULL)
			p->relay_tail = NULL;
		if (f->answer != NULL)
			lines_send(f->conn, f->answer);
		else
			lines_send_raw(f->conn, f->raw.p, f->raw.len);
		fwd_free(f);
	}
}

/*
 * The pod's audit lines did not reach the node intact, or its copy cannot
 * be written: nothing more of it is relayed, and the pod is stopped.
 */
static void
copy_fault(struct pod *p, const char *why)
{
	struct fwd *f, *next;

	if (p->copy_failed)
		return;
	node_record(NULL, json_pack("{s:s, s:s, s:s, s:s, s:I}", "event",
	    "pod.audit_fault", "pod", p->spec.name, "pod_log", p->lp.log,
	    "message", why, "records", (json_int_t)records(p)), NULL);
	p->copy_failed = 1;
	for (f = p->relay_head; f != NULL; f = next) {
		json_t *r = node_error(f->id, "unavailable", "the pod's audit "
		    "copy failed; the pod is stopped");

		next = f->next;
		lines_send(f->conn, r);
		json_decref(r);
		fwd_free(f);
	}
	p->relay_head = p->relay_tail = NULL;
	fail_fwds(p, "unavailable", "the pod's audit copy failed; the pod is "
	    "stopped");
	sandbox_kill(&p->lp.sb);
}

static void
pod_stopped(struct pod *p, const char *why)
{
	if (!p->running)
		return;
	/* What the pod sent before it ended is copied, then relayed. */
	if (p->cw != NULL)
		copyw_wait(p->cw);
	relay(p);
	p->running = 0;
	ev_io_stop(N->loop, &p->rio);
	ev_io_stop(N->loop, &p->wio);
	if (p->lp.chan >= 0)
		close(p->lp.chan);
	p->lp.chan = -1;
	fail_fwds(p, "unavailable", why);
}

/*
 * The loop waits only a moment for a pod's cgroup to empty; a cgroup
 * still in use is kept and removed by a later tick.
 */
static void
pod_free(struct pod *p, int wait_ms)
{
	if (sandbox_release(&p->lp.sb, wait_ms) > 0 &&
	    N->nleftovers < NODE_PODS_MAX)
		N->leftovers[N->nleftovers++] = p->lp.sb.cg;
	copyw_release(p->cw);
	json_decref(p->spec_obj);
	podspec_free(&p->spec);
	audit_buf_free(&p->out);
	free(p->in);
	free(p);
}

static void
unlink_pod(struct pod *p)
{
	for (struct pod **pp = &N->pods; *pp != NULL; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			N->npods--;
			return;
		}
}

/* The reaper: the pod's init ended (its pidfd is readable). */
static void
pod_exit(struct ev_loop *loop, ev_io *w, int revents)
{
	struct pod *p = w->data;
	int code = -1, oom = cgroup_oom_kills(&p->lp.sb.cg);

	(void)loop;
	(void)revents;
	if (p->starting) {
		start_fail(p, "the VM ended while its guest booted");
		return;
	}
	ev_io_stop(N->loop, &p->exit_io);
	(void)sandbox_wait(&p->lp.sb, &code);
	pod_stopped(p, "the pod has ended");
	node_record(NULL, json_pack("{s:s, s:s, s:i, s:i}", "event",
	    "pod.exit", "pod", p->spec.name, "status", code, "oom_kills",
	    oom), NULL);
	podstate_forget(p->spec.name);
	unlink_pod(p);
	pod_free(p, POD_RELEASE_MS);
}

/* Say no to a pod.create: recorded, and answered when c is given. */
static void
refuse(struct lines_conn *c, const char *kid, const json_t *id,
    const char *pod, const char *kind, const char *why)
{
	json_t *ev = json_pack("{s:s, s:s, s:s, s:s}", "event", "pod.refused",
	    "signer", kid, "kind", kind, "message", why);

	if (pod != NULL)
		json_object_set_new(ev, "pod", json_string(pod));
	node_record(c, ev, node_error(id, kind, why));
}

static void
link_pod(struct pod *p)
{
	p->next = N->pods;
	N->pods = p;
	N->npods++;
}

/*
 * A pod whose proxy has said hello and taken its key-cert: its copy is
 * opened, it is stored, served, recorded and answered for.
 */
static void
pod_up(struct pod *p, struct lines_conn *c, const char *kid,
    const json_t *id, int linked)
{
	struct audit_err e;
	const char *why = NULL;
	json_t *ev;

	if ((p->cw = copyw_open(p->lp.dir, p->lp.log, p->lp.pubkey, &N->self,
	    &e)) == NULL)
		why = e.msg;
	else {
		audit_fmt(p->copy_path, sizeof(p->copy_path), "%s",
		    p->cw->c.path);
		p->started = (int64_t)time(NULL);
		p->pid_start = podstate_start_time(p->lp.sb.pid);
		if (podstate_save(p) != 0)
			why = "the pod cannot be stored";
	}
	if (why != NULL) {
		sandbox_kill(&p->lp.sb);
		refuse(c, kid, id, p->spec.name, "internal", why);
		if (p->lp.chan >= 0)
			close(p->lp.chan);
		ev_io_stop(N->loop, &p->exit_io);
		if (linked)
			unlink_pod(p);
		pod_free(p, RELEASE_WAIT_MS);
		return;
	}
	p->running = 1;
	ev_io_init(&p->rio, pod_read, p->lp.chan, EV_READ);
	ev_io_init(&p->wio, pod_write, p->lp.chan, EV_WRITE);
	p->rio.data = p->wio.data = p;
	ev_io_start(N->loop, &p->rio);
	if (!linked) {
		ev_io_init(&p->exit_io, pod_exit, p->lp.sb.pidfd, EV_READ);
		p->exit_io.data = p;
		ev_io_start(N->loop, &p->exit_io);
		link_pod(p);
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
 * A VM that is not coming up: its VMM killed, its channel closed, the
 * refusal recorded and its creator answered with kind.
 */
static void
start_abort(struct pod *p, const char *kind, const char *why)
{
	ev_timer_stop(N->loop, &p->start_timer);
	ev_io_stop(N->loop, &p->rio);
	sandbox_kill(&p->lp.sb);
	if (p->lp.chan >= 0)
		close(p->lp.chan);
	p->lp.chan = -1;
	refuse(p->creator, p->creator_kid, p->creator_id, p->spec.name, kind,
	    why);
	lines_release(p->creator);
	json_decref(p->creator_id);
	p->creator = NULL;
	p->creator_id = NULL;
	p->starting = 0;
}

/* A VM that did not come up: stopped, recorded, answered, forgotten. */
static void
start_fail(struct pod *p, const char *why)
{
	char msg[LOCAL_PATH_MAX * 2 + 256];

	if (strcmp(p->spec.driver, "qemu") == 0)
		audit_fmt(msg, sizeof(msg), "%s (see %s/vmm.err and "
		    "%s/vm/console.log)", why, p->lp.dir, p->lp.dir);
	else
		audit_fmt(msg, sizeof(msg), "%s (see %s/vmm.err)", why,
		    p->lp.dir);
	ev_io_stop(N->loop, &p->exit_io);
	start_abort(p, "internal", msg);
	unlink_pod(p);
	pod_free(p, RELEASE_WAIT_MS);
}

static void
start_done(struct pod *p)
{
	struct lines_conn *c = p->creator;
	json_t *id = p->creator_id;

	ev_timer_stop(N->loop, &p->start_timer);
	ev_io_stop(N->loop, &p->rio);
	p->starting = 0;
	p->creator = NULL;
	p->creator_id = NULL;
	pod_up(p, c, p->creator_kid, id, 1);
	lines_release(c);
	json_decref(id);
}

/* The guest's hello, a byte at a time: what follows is the pod's. */
static void
hello_read(struct ev_loop *loop, ev_io *w, int revents)
{
	struct pod *p = w->data;
	struct audit_buf cert = { 0 };
	struct audit_err e;
	ssize_t n;

	(void)loop;
	(void)revents;
	for (;;) {
		if (p->hellolen + 1 >= sizeof(p->hello)) {
			start_fail(p, "the guest's hello is too long");
			return;
		}
		n = read(p->lp.chan, p->hello + p->hellolen, 1);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			start_fail(p, "the guest closed its channel before "
			    "its hello");
			return;
		}
		if (p->hello[p->hellolen] == '\n')
			break;
		p->hellolen++;
	}
	p->hello[p->hellolen] = '\0';
	if (pod_hello(&p->lp, &N->lenv, p->hello, &cert, &e) != 0) {
		audit_buf_free(&cert);
		start_fail(p, e.msg);
		return;
	}
	/* A fresh socket takes a few hundred bytes at once, or it is
	 * broken. */
	if (write(p->lp.chan, cert.p, cert.len) != (ssize_t)cert.len) {
		audit_buf_free(&cert);
		start_fail(p, "the guest took no key-cert");
		return;
	}
	audit_buf_free(&cert);
	start_done(p);
}

/* Until the guest listens: connect; past the deadline: give up. */
static void
start_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct pod *p = w->data;
	int fd;

	(void)revents;
	if (ev_now(loop) > p->start_deadline) {
		char why[128];

		audit_fmt(why, sizeof(why), "the guest said no hello within "
		    "%d ms", VM_READY_MS);
		start_fail(p, why);
		return;
	}
	if (p->lp.chan >= 0)
		return;
	if ((fd = vm_connect(&p->spec, &p->lp, VM_CONNECT_MS)) < 0)
		return;		/* not yet */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	p->lp.chan = fd;
	ev_io_init(&p->rio, hello_read, fd, EV_READ);
	p->rio.data = p;
	ev_io_start(loop, &p->rio);
}

/* What a VM spec asks that this node cannot give: refused, 1. */
static int
vm_refused(struct lines_conn *c, struct gate_req *q, struct pod *p)
{
	char path[LOCAL_PATH_MAX + POD_IMAGE_MAX + 16], why[sizeof(path) + 64];

	int fc = strcmp(p->spec.driver, "firecracker") == 0;

	if (N->lenv.guest == NULL)
		audit_fmt(why, sizeof(why), "the node runs no VMs: it needs "
		    "serve -G");
	else if (!fc && N->lenv.qemu == NULL)
		audit_fmt(why, sizeof(why), "the node has no "
		    "qemu-system-x86_64 (PATH, or serve -Q)");
	else if (fc && (N->lenv.firecracker == NULL || !N->lenv.kvm))
		audit_fmt(why, sizeof(why), "the firecracker driver needs "
		    "firecracker on PATH and a /dev/kvm that runs a plain "
		    "guest (see nucleus-node doctor)");
	else {
		audit_fmt(path, sizeof(path), "%s/%s.squashfs", N->lenv.guest,
		    p->spec.image);
		if (access(path, R_OK) == 0)
			return 0;
		audit_fmt(why, sizeof(why), "image: no %s", path);
	}
	refuse(c, q->kid, q->id, p->spec.name, "bad_request", why);
	json_decref(p->spec_obj);
	podspec_free(&p->spec);
	free(p);
	return 1;
}

static void
create(struct lines_conn *c, struct gate_req *q)
{
	char dir[LOCAL_PATH_MAX];
	struct audit_err e;
	struct pod *p, *old;

	if (N->npods >= NODE_PODS_MAX) {
		refuse(c, q->kid, q->id, NULL, "unavailable", "the node runs "
		    "as many pods as it may");
		return;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return;
	if (podspec_parse(&p->spec, json_object_get(q->obj, "args"),
	    &e) != 0) {
		free(p);
		refuse(c, q->kid, q->id, NULL, "bad_request", e.msg);
		return;
	}
	if ((old = pod_find(p->spec.name)) != NULL) {
		const char *why = old->lost ? "a lost pod of that name is kept "
		    "until pod.stop removes it" : "a pod of that name is "
		    "running";

		refuse(c, q->kid, q->id, p->spec.name, "bad_request", why);
		podspec_free(&p->spec);
		free(p);
		return;
	}
	p->spec_obj = json_incref(json_object_get(q->obj, "args"));
	audit_fmt(dir, sizeof(dir), "%s/%s", N->pods_dir, p->spec.name);
	if (strcmp(p->spec.driver, "local") == 0) {
		if (local_start(&p->spec, &N->lenv, dir, &p->lp, &e) != 0) {
			refuse(c, q->kid, q->id, p->spec.name, "internal",
			    e.msg);
			json_decref(p->spec_obj);
			podspec_free(&p->spec);
			free(p);
			return;
		}
		pod_up(p, c, q->kid, q->id, 0);
		return;
	}
	/* A VM: started now, answered for once its guest says hello. */
	if (vm_refused(c, q, p))
		return;
	if (vm_launch(&p->spec, &N->lenv, dir, &p->lp, &e) != 0) {
		refuse(c, q->kid, q->id, p->spec.name, "internal", e.msg);
		json_decref(p->spec_obj);
		podspec_free(&p->spec);
		free(p);
		return;
	}
	p->starting = 1;
	p->creator = c;
	lines_hold(c);
	p->creator_id = json_incref(q->id);
	audit_fmt(p->creator_kid, sizeof(p->creator_kid), "%s", q->kid);
	p->start_deadline = ev_now(N->loop) + VM_READY_MS / 1000.0;
	ev_timer_init(&p->start_timer, start_tick, 0., VM_START_POLL_MS /
	    1000.0);
	p->start_timer.data = p;
	ev_timer_start(N->loop, &p->start_timer);
	ev_io_init(&p->exit_io, pod_exit, p->lp.sb.pidfd, EV_READ);
	p->exit_io.data = p;
	ev_io_start(N->loop, &p->exit_io);
	link_pod(p);
}

void
pods_op(struct lines_conn *c, struct gate_req *q)
{
	struct pod *p;

	if (strcmp(q->op, "pod.create") == 0) {
		create(c, q);
		return;
	}
	if (strcmp(q->op, "pod.list") == 0) {
		json_t *list = json_array();

		for (p = N->pods; p != NULL; p = p->next)
			json_array_append_new(list, pod_summary(p));
		node_record(c, json_pack("{s:s, s:s, s:s}", "event", "admin",
		    "op", q->op, "signer", q->kid), node_ok(q->id,
		    json_pack("{s:o}", "pods", list)));
		return;
	}
	if ((p = pod_find(q->pod)) == NULL) {
		node_record(c, NULL, node_error(q->id, "unknown_pod", "no such "
		    "pod"));
		return;
	}
	if (strcmp(q->op, "pod.status") == 0) {
		node_record(c, json_pack("{s:s, s:s, s:s, s:s}", "event",
		    "admin", "op", q->op, "signer", q->kid, "pod", q->pod),
		    node_ok(q->id, pod_summary(p)));
		return;
	}
	if (p->lost) {
		/* A lost pod ends nothing: it is removed, its copy kept. */
		node_record(c, json_pack("{s:s, s:s, s:s, s:b}", "event",
		    "pod.stop", "signer", q->kid, "pod", q->pod, "lost", 1),
		    node_ok(q->id, json_pack("{s:s, s:s}", "pod", q->pod,
		    "state", "removed")));
		podstate_forget(p->spec.name);
		unlink_pod(p);
		pod_free(p, 0);
		return;
	}
	/* pod.stop: its init killed, the kernel ends the rest; the reaper
	 * records the end. */
	node_record(c, json_pack("{s:s, s:s, s:s}", "event", "pod.stop",
	    "signer", q->kid, "pod", q->pod), node_ok(q->id, json_pack("{s:s, "
	    "s:s}", "pod", q->pod, "state", "stopping")));
	sandbox_kill(&p->lp.sb);
}

/* Send a tool request to its pod, renamed. */
void
pods_forward(struct lines_conn *c, struct gate_req *q)
{
	struct pod *p = pod_find(q->pod);
	struct audit_err e;
	struct fwd *f;
	const json_t *t;
	char name[24];
	json_t *copy;
	int timeout = 0;

	if (p == NULL || !p->running) {
		json_t *r = node_error(q->id, "unavailable", p != NULL &&
		    p->lost ? "the pod was lost when the node restarted (see "
		    "pod.status); pod.stop removes it" : "the pod is not "
		    "running");

		lines_send(c, r);
		json_decref(r);
		return;
	}
	/* A pod that does not take its requests holds only so many. */
	if (p->out.len - p->outoff > POD_OUTBUF_MAX) {
		json_t *r = node_error(q->id, "unavailable", "the pod is not "
		    "taking its requests: too many are waiting for it");

		lines_send(c, r);
		json_decref(r);
		return;
	}
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return;
	f->seq = ++p->next_seq;
	f->id = json_incref(q->id);
	f->conn = c;
	lines_hold(c);
	t = json_object_get(json_object_get(q->obj, "args"), "timeout");
	if (json_is_integer(t) && json_integer_value(t) > 0 &&
	    json_integer_value(t) < 86400)
		timeout = (int)json_integer_value(t);
	f->deadline = ev_now(N->loop) + N->fwd_deadline + timeout;
	f->next = p->fwds;
	p->fwds = f;
	audit_fmt(name, sizeof(name), "n%llu", (unsigned long long)f->seq);
	copy = json_deep_copy(q->obj);
	json_object_set_new(copy, "id", json_string(name));
	if (cjson_encode(copy, &p->out, &e) != 0 ||
	    audit_buf_add(&p->out, "\n", 1) != 0)
		fail_fwds(p, "internal", "the request cannot be forwarded");
	json_decref(copy);
	ev_io_start(N->loop, &p->wio);
}

static void
pod_write(struct ev_loop *loop, ev_io *w, int revents)
{
	struct pod *p = w->data;

	(void)revents;
	while (p->outoff < p->out.len) {
		ssize_t n = write(p->lp.chan, p->out.p + p->outoff,
		    p->out.len - p->outoff);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			pod_stopped(p, "the pod's channel is closed");
			return;
		}
		p->outoff += (size_t)n;
	}
	p->out.len = p->outoff = 0;
	ev_io_stop(loop, w);
}

/*
 * One line from the pod: an audit line for the copy, or an answer, held
 * until the copy is durable, for the client that asked, under its id.
 */
/* An answer, come back for f: held until the lines before it are durable. */
static void
hold_answer(struct pod *p, struct fwd *f)
{
	f->need = p->cw->queued;	/* the loop's own count */
	f->next = NULL;
	if (p->relay_tail != NULL)
		p->relay_tail->next = f;
	else
		p->relay_head = f;
	p->relay_tail = f;
}

/* The request an answer's id names, taken off the pod's list; or NULL. */
static struct fwd *
take_fwd(struct pod *p, const char *id, size_t len)
{
	struct fwd **pp, *f;
	uint64_t seq = 0;

	if (len < 2 || len > 21 || id[0] != 'n')
		return NULL;
	for (size_t i = 1; i < len; i++) {
		if (id[i] < '0' || id[i] > '9')
			return NULL;
		seq = seq * 10 + (uint64_t)(id[i] - '0');
	}
	for (pp = &p->fwds; (f = *pp) != NULL; pp = &f->next)
		if (f->seq == seq) {
			*pp = f->next;
			return f;
		}
	return NULL;
}

/*
 * An answer as the proxy writes it, canonical: relayed as its own bytes
 * with the client's id put in, without a tree of its result.  0 when the
 * line was taken so; -1 leaves it to the parser.
 */
static int
answer_raw(struct pod *p, const char *line, size_t len)
{
	const struct cjson_member *type = NULL, *id = NULL, *audit = NULL;
	struct cjson_scan sc;
	struct audit_buf b = { 0 };
	struct audit_err e;
	struct fwd *f;
	int64_t need_seq = -1;

	if (cjson_scan(line, len, &sc, &e) != 0)
		return -1;
	for (size_t i = 0; i < sc.n; i++) {
		const struct cjson_member *m = &sc.m[i];

		if (m->keylen == 4 && memcmp(m->key, "type", 4) == 0)
			type = m;
		else if (m->keylen == 2 && memcmp(m->key, "id", 2) == 0)
			id = m;
		else if (m->keylen == 5 && memcmp(m->key, "audit", 5) == 0)
			audit = m;
	}
	if (type == NULL || type->vallen != 10 || memcmp(type->val,
	    "\"response\"", 10) != 0 || id == NULL || id->vallen < 2 ||
	    id->val[0] != '"')
		return -1;
	if (audit != NULL) {
		json_t *a = json_loadb(audit->val, audit->vallen, 0, NULL);
		const char *log = json_string_value(json_object_get(a, "log"));

		if (log == NULL || strcmp(log, p->lp.log) != 0 ||
		    !json_is_integer(json_object_get(a, "seq"))) {
			json_decref(a);
			copy_fault(p, "the pod answered naming a record not of "
			    "its log");
			return 0;
		}
		need_seq = json_integer_value(json_object_get(a, "seq"));
		json_decref(a);
	}
	if ((f = take_fwd(p, id->val + 1, id->vallen - 2)) == NULL)
		return 0;	/* not asked, or given up on: dropped */
	if (audit_buf_add(&b, line, (size_t)(id->val - line)) != 0 ||
	    cjson_encode(f->id, &b, &e) != 0 ||
	    audit_buf_add(&b, id->val + id->vallen, len - (size_t)(id->val +
	    id->vallen - line)) != 0) {
		json_t *r = node_error(f->id, "internal", "out of memory");

		audit_buf_free(&b);
		lines_send(f->conn, r);
		json_decref(r);
		fwd_free(f);
		return 0;
	}
	f->raw = b;
	f->need_seq = need_seq;
	hold_answer(p, f);
	return 0;
}

static void
pod_line(struct pod *p, const char *line, size_t len)
{
	struct fwd *f;
	json_error_t jerr;
	const char *id, *type, *log;
	const json_t *audit;
	int64_t need_seq = -1;
	json_t *r;

	if (p->copy_failed)
		return;
	/*
	 * A record, canonical, ends so (no member of the pod's events sorts
	 * after "type" but "v"): straight to the copier, whose verifier takes
	 * nothing that is not a canonical record of the chain.  Anything
	 * else is parsed, records the quick look missed included.
	 */
	if (len > sizeof(RECORD_END) - 1 && memcmp(line + len -
	    (sizeof(RECORD_END) - 1), RECORD_END, sizeof(RECORD_END) - 1) ==
	    0) {
		if (copyw_line(p->cw, line, len) != 0)
			copy_fault(p, "out of memory");
		return;
	}
	if (answer_raw(p, line, len) == 0)
		return;
	if ((r = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL) {
		copy_fault(p, "the pod sent a line that is not JSON");
		return;
	}
	type = json_string_value(json_object_get(r, "type"));
	if (type != NULL && strcmp(type, "audit") == 0) {
		json_decref(r);
		if (copyw_line(p->cw, line, len) != 0)
			copy_fault(p, "out of memory");
		return;
	}
	id = json_string_value(json_object_get(r, "id"));
	if (type == NULL || strcmp(type, "response") != 0 || id == NULL) {
		json_decref(r);
		return;
	}
	/* The record it names must be among the pod's lines before it. */
	if ((audit = json_object_get(r, "audit")) != NULL) {
		log = json_string_value(json_object_get(audit, "log"));
		if (log == NULL || strcmp(log, p->lp.log) != 0 ||
		    !json_is_integer(json_object_get(audit, "seq"))) {
			json_decref(r);
			copy_fault(p, "the pod answered naming a record not of "
			    "its log");
			return;
		}
		need_seq = json_integer_value(json_object_get(audit, "seq"));
	}
	if ((f = take_fwd(p, id, strlen(id))) == NULL) {
		json_decref(r);
		return;		/* not asked, or given up on: dropped */
	}
	json_object_set(r, "id", f->id);
	f->answer = r;
	f->need_seq = need_seq;
	hold_answer(p, f);
}

/* Part of a line from the pod, kept until its newline comes. */
static int
gather(struct pod *p, const char *s, size_t part)
{
	if (p->inlen + part > p->incap) {
		size_t cap = 2 * (p->inlen + part);
		char *in = realloc(p->in, cap);

		if (in == NULL) {
			copy_fault(p, "out of memory");
			return -1;
		}
		p->in = in;
		p->incap = cap;
	}
	memcpy(p->in + p->inlen, s, part);
	p->inlen += part;
	return 0;
}

static void
pod_read(struct ev_loop *loop, ev_io *w, int revents)
{
	struct pod *p = w->data;
	char buf[65536], *nl, *s;
	ssize_t n;

	(void)loop;
	(void)revents;
	n = read(p->lp.chan, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		pod_stopped(p, "the pod's channel is closed");
		return;
	}
	s = buf;
	while ((nl = memchr(s, '\n', (size_t)(buf + n - s))) != NULL) {
		size_t part = (size_t)(nl - s);

		if (p->in_overlong || p->inlen + part > POD_LINE_MAX)
			copy_fault(p, "the pod sent a line longer than the "
			    "node takes");
		else if (p->inlen == 0)
			pod_line(p, s, part);
		else if (gather(p, s, part) == 0)
			pod_line(p, p->in, p->inlen);
		p->inlen = 0;
		p->in_overlong = 0;
		s = nl + 1;
	}
	if (s < buf + n && !p->in_overlong) {
		size_t part = (size_t)(buf + n - s);

		if (p->inlen + part > POD_LINE_MAX) {
			p->in_overlong = 1;	/* dropped up to its newline */
			p->inlen = 0;
		} else
			(void)gather(p, s, part);
	}
	/* A copy far behind: the pod waits, not the node's memory. */
	if (p->running && p->cw != NULL && behind(p) >= COPY_BACKLOG_MAX) {
		p->copy_paused = 1;
		ev_io_stop(N->loop, &p->rio);
	}
}

/* Each second: a pod that let a request pass its deadline. */
void
pods_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	ev_tstamp now = ev_now(loop);

	(void)w;
	(void)revents;
	node_turned_away_record();
	/* A pair older than the skew is refused by its ts anyway. */
	if (++N->ticks % NODE_PRUNE_TICKS == 0)
		(void)replay_prune(N->env, N->gate.nonces, (int64_t)time(NULL) -
		    N->gate.skew - 1);
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
			sandbox_kill(&p->lp.sb);
		}

		while ((f = *pp) != NULL) {
			json_t *r;

			if (f->deadline > now) {
				pp = &f->next;
				continue;
			}
			*pp = f->next;
			r = node_error(f->id, "unavailable", "the pod did not "
			    "answer in time");
			lines_send(f->conn, r);
			json_decref(r);
			fwd_free(f);
		}
	}
}

/* Before the loop waits: the answers whose lines are durable go. */
void
pods_flush(void)
{
	for (struct pod *p = N->pods; p != NULL; p = p->next)
		relay(p);
}

/* The copier made copies durable: answers go, paused pods are read. */
void
pods_copied(struct ev_loop *loop, ev_async *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	for (struct pod *p = N->pods; p != NULL; p = p->next) {
		relay(p);
		if (p->copy_paused && p->running && p->cw != NULL &&
		    behind(p) < COPY_BACKLOG_MAX) {
			p->copy_paused = 0;
			ev_io_start(N->loop, &p->rio);
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
			start_abort(p, "unavailable", "the node is stopping");
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
		pod_stopped(p, "the node is stopping");
		pod_free(p, 5000);
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
