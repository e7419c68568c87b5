/*
 * A VM pod's start, after vm_launch has started its VMM: the node's loop
 * goes on serving while the guest boots; a timer tries the guest's
 * channel until it connects, then the guest's hello is read a byte at a
 * time, its key-cert written, and the pod is up (pods_up).  Past
 * VM_READY_MS, or if the VMM ends first, the start fails: the VMM is
 * killed, the refusal recorded and the creator answered.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "serve.h"

/*
 * A VM that is not coming up: its VMM killed, its channel closed, the
 * refusal recorded and its creator answered with kind.
 */
void
vmstart_abort(struct pod *p, const char *kind, const char *why)
{
	ev_timer_stop(N->loop, &p->start_timer);
	ev_io_stop(N->loop, &p->rio);
	sandbox_kill(&p->lp.sb);
	podstate_forget(p->spec.name);
	if (p->lp.chan >= 0)
		close(p->lp.chan);
	p->lp.chan = -1;
	pods_refuse(p->creator, p->creator_kid, p->creator_id, p->spec.name,
	    kind, why);
	lines_release(p->creator);
	json_decref(p->creator_id);
	p->creator = NULL;
	p->creator_id = NULL;
	p->starting = 0;
}

/* A VM that did not come up: stopped, recorded, answered, forgotten. */
void
vmstart_fail(struct pod *p, const char *why)
{
	char msg[LOCAL_PATH_MAX * 2 + 256];

	if (strcmp(p->spec.driver, "qemu") == 0)
		audit_fmt(msg, sizeof(msg), "%s (see %s/vmm.err and "
		    "%s/vm/console.log)", why, p->lp.dir, p->lp.dir);
	else
		audit_fmt(msg, sizeof(msg), "%s (see %s/vmm.err)", why,
		    p->lp.dir);
	ev_io_stop(N->loop, &p->exit_io);
	vmstart_abort(p, "internal", msg);
	pods_unlink(p);
	pods_free(p, RELEASE_WAIT_MS);
}

static void
start_done(struct pod *p)
{
	struct lines_conn *c = p->creator;
	json_t *id = p->creator_id;
	struct audit_err e;
	int fd;

	/*
	 * Firecracker: the hello's connection is not the channel, which
	 * the node connects to as it would after a restart of its own
	 * (its copy holding nothing yet).  The hello's stays open while
	 * the pod runs: the key-cert may still be on its way.
	 */
	if (strcmp(p->spec.driver, "firecracker") == 0) {
		if ((fd = vm_reconnect(&p->spec, &p->lp, &N->lenv, -1,
		    &e)) < 0) {
			vmstart_fail(p, e.msg);
			return;
		}
		p->hello_fd = p->lp.chan + 1;
		p->lp.chan = fd;
	}
	ev_timer_stop(N->loop, &p->start_timer);
	ev_io_stop(N->loop, &p->rio);
	p->starting = 0;
	p->creator = NULL;
	p->creator_id = NULL;
	pods_up(p, c, p->creator_kid, id, 1);
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
			vmstart_fail(p, "the guest's hello is too long");
			return;
		}
		n = read(p->lp.chan, p->hello + p->hellolen, 1);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			vmstart_fail(p, "the guest closed its channel before "
			    "its hello");
			return;
		}
		if (p->hello[p->hellolen] == '\n')
			break;
		p->hellolen++;
	}
	p->hello[p->hellolen] = '\0';
	if (local_hello(&p->lp, &N->lenv, p->hello, &cert, &e) != 0) {
		audit_buf_free(&cert);
		vmstart_fail(p, e.msg);
		return;
	}
	/* A fresh socket takes a few hundred bytes at once, or it is
	 * broken. */
	if (write(p->lp.chan, cert.p, cert.len) != (ssize_t)cert.len) {
		audit_buf_free(&cert);
		vmstart_fail(p, "the guest took no key-cert");
		return;
	}
	audit_buf_free(&cert);
	/* Its way out, before any command can ask for it. */
	if (vmegress_start(&p->spec, &N->lenv, &p->lp, &e) != 0) {
		vmstart_fail(p, e.msg);
		return;
	}
	start_done(p);
}

/* Until the guest listens: connect; past the deadline: give up. */
static void
start_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct pod *p = w->data;
	char why[128];
	int fd, fl;

	(void)revents;
	if (ev_now(loop) > p->start_deadline) {
		audit_fmt(why, sizeof(why), "the guest said no hello within "
		    "%d ms", VM_READY_MS);
		vmstart_fail(p, why);
		return;
	}
	if (p->lp.chan >= 0)
		return;
	if ((fd = vm_connect(&p->spec, &p->lp, N->lenv.uid,
	    VM_CONNECT_MS)) < 0)
		return;		/* not yet */
	/* The node's loop must never wait on a guest that stops reading. */
	if ((fl = fcntl(fd, F_GETFL)) < 0 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0) {
		audit_fmt(why, sizeof(why), "the guest's channel: %s",
		    strerror(errno));
		close(fd);
		vmstart_fail(p, why);
		return;
	}
	p->lp.chan = fd;
	ev_io_init(&p->rio, hello_read, fd, EV_READ);
	p->rio.data = p;
	ev_io_start(loop, &p->rio);
}

/* What a VM spec asks that this node cannot give: refused, 1. */
static int
vm_refused(const struct local_env *env, struct lines_conn *c,
    struct gate_req *q, struct pod *p)
{
	char path[LOCAL_PATH_MAX + POD_IMAGE_MAX + 16], why[sizeof(path) + 64];
	struct audit_err e;

	int fc = strcmp(p->spec.driver, "firecracker") == 0;

	if (env->guest == NULL)
		audit_fmt(why, sizeof(why), "the node runs no VMs: it needs "
		    "serve -G");
	else if (!fc && env->qemu == NULL)
		audit_fmt(why, sizeof(why), "the node has no "
		    "qemu-system-x86_64 (PATH, or serve -Q)");
	else if (fc && (env->firecracker == NULL || !env->kvm))
		audit_fmt(why, sizeof(why), "the firecracker driver needs "
		    "firecracker on PATH and a /dev/kvm that runs a plain "
		    "guest (see nucleus-node doctor)");
	else if (audit_fit(path, sizeof(path), &e, "%s/%s.squashfs",
	    env->guest, p->spec.image) != 0)
		audit_fmt(why, sizeof(why), "image: %s", e.msg);
	else {
		if (access(path, R_OK) == 0)
			return 0;
		audit_fmt(why, sizeof(why), "image: no %s", path);
	}
	pods_refuse(c, q->kid, q->id, p->spec.name, "bad_request", why);
	json_decref(p->spec_obj);
	podspec_free(&p->spec);
	free(p);
	return 1;
}

/* A VM: started now, answered for once its guest says hello. */
void
vmstart_begin(struct lines_conn *c, struct gate_req *q, struct pod *p,
    const char *dir)
{
	struct audit_err e;

	if (vm_refused(&N->lenv, c, q, p))
		return;
	if (vm_launch(&p->spec, &N->lenv, dir, &p->lp, &e) != 0) {
		pods_refuse(c, q->kid, q->id, p->spec.name, "internal", e.msg);
		json_decref(p->spec_obj);
		podspec_free(&p->spec);
		free(p);
		return;
	}
	/* The one log its hello may name (local_hello). */
	memcpy(p->lp.log, p->spec.log, sizeof(p->lp.log));
	podwork_start(p);	/* the snapshot pod.diff compares with */
	p->starting = 1;
	p->pid_start = podstate_start_time(p->lp.sb.pid);
	(void)podstate_save(p);	/* as "starting" */
	p->creator = c;
	lines_hold(c);
	p->creator_id = json_incref(q->id);
	/* Both AUDIT_KID_MAX + 1 bytes: it fits. */
	memcpy(p->creator_kid, q->kid, sizeof(p->creator_kid));
	p->start_deadline = ev_now(N->loop) + VM_READY_MS / 1000.0;
	ev_timer_init(&p->start_timer, start_tick, 0., VM_START_POLL_MS /
	    1000.0);
	p->start_timer.data = p;
	ev_timer_start(N->loop, &p->start_timer);
	ev_io_init(&p->exit_io, pods_exit, p->lp.sb.pidfd, EV_READ);
	p->exit_io.data = p;
	ev_io_start(N->loop, &p->exit_io);
	pods_link(p);
}
