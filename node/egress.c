/*
 * A pod's egress gateway (nucleus-gateway(8)), from the node's side: the
 * local driver starts one for each pod whose spec has "network", as the
 * pod's unprivileged host uid, outside the node's address space, and
 * gives it the spec's network member, never the pod's word for it.
 *
 *	fd 3	the pod's proxy's connection (its other end is the
 *		proxy's -G descriptor): SOCK_SEQPACKET
 *	fd 4	the gateway's records, to the node's log: each message
 *		{"seq": N, "wait": B, "decision": S, "record": {...}}; with
 *		wait, the node answers {"seq": N, "ok": B} once the record
 *		is durable and so is the pod's host copy, through the
 *		proxy's decision S (the seq of its record in the pod's log,
 *		as the proxy named it) and every line the pod had sent by
 *		then; the gateway dials only then
 *	fd 5	<dir>/egress.sock, listening (root's alone): anything else
 *		that asks, checked as the proxy is
 *	fd 6	the authority keys the pods trust (a pipe): an approval
 *		entry's token is checked again there
 *	fd 7	-H's hosts file, when the node has one
 *
 * The node takes only egress.* records from it, and names the pod in
 * each itself.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "serve.h"
#include "fdmsg.h"
#include "members.h"
#include "sockaddr.h"

struct egress_ack {
	struct egress_ack *next;
	struct egress *g;
	uint64_t seq;		/* the gateway's message's */
	uint64_t lines;		/* the pod's copy must hold these durably */
	int64_t	 decision;	/* and this record of the pod's; or -1 */
};

struct egress {
	char	 pod[POD_NAME_MAX + 1];
	pid_t	 pid;
	int	 fd;		/* the gateway's records */
	ev_io	 rio, wio;
	struct fdmsg_q out;	/* answers its socket could not take yet:
				   one per record awaited, so at most
				   max_connections */
	int	 refs;		/* this, and each record awaited */
	int	 stopped;
	struct egress_ack *waiting;	/* durable, the pod's copy not yet */
	int	 nwaiting;
};

static const char *const kinds[] = {
	"egress.open", "egress.close", "egress.refused", NULL
};

static void
unref(struct egress *g)
{
	if (--g->refs == 0)
		free(g);
}

/* What waits for the gateway's socket is watched for. */
static void
out_watch(struct egress *g, int waiting)
{
	if (waiting)
		ev_io_start(N->loop, &g->wio);
	else
		ev_io_stop(N->loop, &g->wio);
}

static void
egress_write(struct ev_loop *loop, ev_io *w, int revents)
{
	struct egress *g = w->data;

	(void)loop;
	(void)revents;
	out_watch(g, fdmsg_q_flush(&g->out, g->fd));
}

/* A message to the gateway: now, or once its socket takes it (never
 * dropped: a stream waits for its answer, and holds a connection of the
 * pod's max_connections meanwhile). */
static void
tell(struct egress *g, const char *msg, size_t len)
{
	if (g->stopped)
		return;
	(void)fdmsg_q_send(&g->out, g->fd, msg, len, -1);
	out_watch(g, g->out.n > 0);
}

/* The gateway told: it may dial (ok), or not. */
static void
answer(struct egress_ack *a, int ok)
{
	char msg[64];
	int n = snprintf(msg, sizeof(msg), "{\"seq\":%llu,\"ok\":%s}",
	    (unsigned long long)a->seq, ok ? "true" : "false");

	tell(a->g, msg, (size_t)n);
	unref(a->g);
	free(a);
}

/* The pod whose gateway g is, while it runs with it. */
static struct pod *
pod_of(const struct egress *g)
{
	struct pod *p = pods_find(g->pod);

	return p != NULL && p->lp.egress == g ? p : NULL;
}

/*
 * Whether a's connection may be made as far as the pod's host copy goes:
 * 1 once the copy holds durably what a needs, 0 not yet, -1 never (the
 * copy failed, the pod is gone).  A pod with no copy of its own (none
 * kept by this node) has nothing to wait for.
 */
static int
copy_ready(const struct egress_ack *a)
{
	struct pod *p = pod_of(a->g);
	struct copyw_state st;

	if (p == NULL || p->copy_failed)
		return -1;
	if (p->cw == NULL)
		return 1;
	copyw_state(p->cw, &st);
	if (st.failed)
		return -1;
	return st.durable >= a->lines && st.durable_seq >= a->decision;
}

/*
 * A record the gateway waits for is durable (error 0), or not.  Its
 * connection waits, besides, for the pod's copy of the decision behind
 * it: both syncs run at once, the node's log's and the copy's.
 */
static void
acked(void *arg, int error)
{
	struct egress_ack *a = arg;
	int ready = error == 0 ? copy_ready(a) : -1;

	if (ready != 0) {
		answer(a, ready > 0);
		return;
	}
	a->next = a->g->waiting;
	a->g->waiting = a;
	a->g->nwaiting++;
}

/*
 * The pod's copy was made durable further (or failed): the connections
 * waiting for it go (or are refused).
 */
void
egress_copied(struct egress *g)
{
	struct egress_ack **pa = &g->waiting, *a;
	int ready;

	while ((a = *pa) != NULL) {
		if ((ready = copy_ready(a)) == 0) {
			pa = &a->next;
			continue;
		}
		*pa = a->next;
		g->nwaiting--;
		answer(a, ready > 0);
	}
}

/* How many connections wait for the pod's copy (pod.status). */
int
egress_waiting(const struct egress *g)
{
	return g != NULL ? g->nwaiting : 0;
}

/* The lines the pod had sent when the record came. */
static uint64_t
copy_queued(const struct egress *g)
{
	struct pod *p = pod_of(g);
	struct copyw_state st;

	if (p == NULL || p->cw == NULL)
		return 0;
	copyw_state(p->cw, &st);
	return st.queued;
}

/*
 * An egress.open under an approval entry names the token it spends: the
 * node's ledger takes its nonce (gate.c), so that a token spent before
 * this gateway started (a pod made again, a node restarted and its VM
 * pods taken back with a new gateway) is not taken twice.  Refused: the
 * gateway is told at once, and dials nothing.
 */
static int
spent_before(struct egress *g, const json_t *m, json_t *rec, const char *ev)
{
	const json_t *ap = json_object_get(rec, "approval");
	const char *kind, *why;
	char *text;
	json_t *a;

	if (strcmp(ev, "egress.open") != 0 || ap == NULL ||
	    gate_ledger_spend(&N->gate, json_string_value(json_object_get(ap,
	    "nonce")), json_object_get(ap, "exp"), (int64_t)time(NULL),
	    &kind, &why) == 0)
		return 0;
	if ((a = json_pack("{s:s, s:s, s:s, s:s}", "event", "egress.refused",
	    "pod", g->pod, "kind", kind, "reason", why)) != NULL) {
		json_object_set(a, "host", json_object_get(rec, "host"));
		json_object_set(a, "port", json_object_get(rec, "port"));
		node_record(NULL, a, NULL);
	}
	a = json_pack("{s:O, s:b, s:s, s:s}", "seq", json_object_get(m, "seq"),
	    "ok", 0, "kind", kind, "reason", why);
	if ((text = a != NULL ? json_dumps(a, JSON_COMPACT) : NULL) != NULL)
		tell(g, text, strlen(text));
	free(text);
	json_decref(a);
	return 1;
}

/* One message from the gateway: its record, in the node's log. */
static void
take(struct egress *g, const char *msg, size_t len)
{
	json_t *m = json_loadb(msg, len, JSON_REJECT_DUPLICATES, NULL);
	json_t *rec = json_object_get(m, "record");
	const char *ev = json_string_value(json_object_get(rec, "event"));
	struct egress_ack *a;
	int i;

	for (i = 0; ev != NULL && kinds[i] != NULL; i++)
		if (strcmp(ev, kinds[i]) == 0)
			break;
	if (!json_is_object(rec) || ev == NULL || kinds[i] == NULL ||
	    !json_is_integer(json_object_get(m, "seq"))) {
		fprintf(stderr, "nucleus-node: pod %s: the gateway sent what "
		    "is not one of its records: ignored\n", g->pod);
		json_decref(m);
		return;
	}
	/* The node names the pod, not the gateway. */
	json_object_set_new(rec, "pod", json_string(g->pod));
	if (spent_before(g, m, rec, ev)) {
		json_decref(m);
		return;
	}
	json_incref(rec);
	if (!json_is_true(json_object_get(m, "wait")) ||
	    (a = calloc(1, sizeof(*a))) == NULL) {
		node_record(NULL, rec, NULL);
		json_decref(m);
		return;
	}
	a->g = g;
	a->seq = (uint64_t)json_integer_value(json_object_get(m, "seq"));
	a->decision = members_seq(m, "decision");
	a->lines = copy_queued(g);
	g->refs++;
	node_record_then(rec, acked, a);
	json_decref(m);
}

static void
egress_read(struct ev_loop *loop, ev_io *w, int revents)
{
	struct egress *g = w->data;
	char buf[EGRESS_MSG_MAX + 1];
	ssize_t n = recv(g->fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);

	(void)revents;
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		ev_io_stop(loop, w);
		return;
	}
	if ((size_t)n > EGRESS_MSG_MAX) {
		fprintf(stderr, "nucleus-node: pod %s: a gateway message over "
		    "%d bytes: ignored\n", g->pod, EGRESS_MSG_MAX);
		return;
	}
	take(g, buf, (size_t)n);
}

/* <dir>/egress.sock, listening, root's alone. */
static int
listener(const char *dir, struct audit_err *err)
{
	char path[LOCAL_PATH_MAX + 16];
	struct sockaddr_un sun;
	int fd;

	if (audit_fit(path, sizeof(path), err, "%s/egress.sock", dir) != 0 ||
	    sockaddr_un_fill(&sun, path, err) != 0)
		return -1;
	(void)unlink(path);
	if ((fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
	    chmod(path, 0600) != 0 || listen(fd, 8) != 0) {
		audit_errf(err, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* In the child: the descriptors at 3.., the pod's uid, the program. */
static void __attribute__((noreturn))
child(const struct local_env *env, int *fds, int nfds, char **argv)
{
	int high[5];

	for (int i = 0; i < nfds; i++)
		if ((high[i] = fcntl(fds[i], F_DUPFD, 64)) < 0)
			_exit(127);
	for (int i = 0; i < nfds; i++)
		if (dup2(high[i], 3 + i) != 3 + i)
			_exit(127);
	(void)syscall(SYS_close_range, 3 + nfds, ~0U, 0);
	if (setgroups(0, NULL) != 0 ||
	    setresgid(env->gid, env->gid, env->gid) != 0 ||
	    setresuid(env->uid, env->uid, env->uid) != 0 || getuid() == 0 ||
	    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
		_exit(127);
	execv(argv[0], argv);
	_exit(127);
}

/* The gateway program: beside the proxy, as the proxy is beside the
 * node. */
static int
program(const struct local_env *env, char *out, size_t sz,
    struct audit_err *err)
{
	const char *slash = strrchr(env->proxy, '/');
	int dirlen = slash != NULL ? (int)(slash - env->proxy) : 1;

	return audit_fit(out, sz, err, "%.*s/nucleus-gateway", dirlen,
	    slash != NULL ? env->proxy : ".");
}

int
egress_start(const struct podspec *spec, const struct local_env *env,
    const char *dir, struct egress **out, int *proxy_fd,
    struct audit_err *err)
{
	char exe[LOCAL_PATH_MAX], *text = NULL;
	char *argv[] = { exe, "-p", (char *)spec->name, "-s", NULL, "-c", "3",
	    "-a", "4", "-l", "5", "-T", "6", NULL, NULL, NULL, NULL };
	int argc = 13;
	int ctl[2] = { -1, -1 }, aud[2] = { -1, -1 }, tp[2] = { -1, -1 };
	int fds[5], lfd = -1, hfd = -1, rc = -1;
	struct egress *g = NULL;
	pid_t pid;

	*out = NULL;
	*proxy_fd = -1;
	if (spec->network == NULL)
		return 0;
	if (program(env, exe, sizeof(exe), err) != 0)
		return -1;
	if ((text = json_dumps(spec->network, JSON_COMPACT)) == NULL ||
	    (g = calloc(1, sizeof(*g))) == NULL) {
		audit_errf(err, "out of memory");
		goto out;
	}
	argv[4] = text;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl) != 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, aud) != 0) {
		audit_errf(err, "socketpair: %s", strerror(errno));
		goto out;
	}
	if ((lfd = listener(dir, err)) < 0)
		goto out;
	fds[0] = ctl[0];
	fds[1] = aud[0];
	fds[2] = lfd;
	/* The trust, as the node holds it now: small, a pipe holds it. */
	if (env->trust_len > EGRESS_TRUST_MAX || pipe2(tp, O_CLOEXEC) != 0 ||
	    audit_writeall(tp[1], env->trust_text, env->trust_len) != 0) {
		audit_errf(err, "the gateway's trust: %s", env->trust_len >
		    EGRESS_TRUST_MAX ? "too long for a pipe" : strerror(errno));
		goto out;
	}
	close(tp[1]);
	tp[1] = -1;
	fds[3] = tp[0];
	if (env->egress_hosts != NULL) {
		if ((hfd = open(env->egress_hosts, O_RDONLY | O_CLOEXEC)) < 0) {
			audit_errf(err, "-H %s: %s", env->egress_hosts,
			    strerror(errno));
			goto out;
		}
		fds[4] = hfd;
		argv[argc++] = "-H";
		argv[argc++] = "7";
	}
	if (spec->connect_approval)
		argv[argc++] = "-A";
	if ((pid = fork()) < 0) {
		audit_errf(err, "fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0)
		child(env, fds, hfd >= 0 ? 5 : 4, argv);
	memcpy(g->pod, spec->name, sizeof(g->pod));
	g->pid = pid;
	g->fd = aud[1];
	aud[1] = -1;
	g->refs = 1;
	fdmsg_q_init(&g->out);
	ev_io_init(&g->rio, egress_read, g->fd, EV_READ);
	ev_io_init(&g->wio, egress_write, g->fd, EV_WRITE);
	g->rio.data = g->wio.data = g;
	ev_io_start(N->loop, &g->rio);
	*proxy_fd = ctl[1];
	ctl[1] = -1;
	*out = g;
	g = NULL;
	rc = 0;
out:
	free(text);
	free(g);
	for (int i = 0; i < 2; i++) {
		if (ctl[i] >= 0)
			close(ctl[i]);
		if (aud[i] >= 0)
			close(aud[i]);
		if (tp[i] >= 0)
			close(tp[i]);
	}
	if (lfd >= 0)
		close(lfd);
	if (hfd >= 0)
		close(hfd);
	return rc;
}

/* The pod is gone: so is its way out. */
void
egress_stop(struct egress *g)
{
	if (g == NULL || g->stopped)
		return;
	g->stopped = 1;
	/* What waited for the pod's copy goes with the pod. */
	while (g->waiting != NULL) {
		struct egress_ack *a = g->waiting;

		g->waiting = a->next;
		answer(a, 0);
	}
	g->nwaiting = 0;
	ev_io_stop(N->loop, &g->rio);
	ev_io_stop(N->loop, &g->wio);
	fdmsg_q_free(&g->out);
	close(g->fd);
	(void)kill(g->pid, SIGKILL);
	(void)waitpid(g->pid, NULL, 0);
	unref(g);
}
