/*
 * approval.request: an agent's approval request, checked by the node
 * before any operator sees it, then taken to the authority (serve -a).
 *
 * The gate has checked the node's request as every other (signature,
 * nonce, the key's role agent, the pod one the node has and that names
 * this agent).  Here, the agent's approval-request it carries (args
 * member "request", signed by the agent for the authority): the same
 * key, the same pod, an operation of nucleus-protocol(7) and arguments
 * it can take (args.c, as the proxy and the authority check them), its
 * own signature and time.  The node then sends it, unchanged, inside
 * its attestation (an approval-attested line signed with the node's key)
 * on a connection of its own to the authority, and relays each answer
 * (the request's id while it waits, then its decision) to the agent,
 * each recorded first (approval.forward).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "members.h"
#include "policy.h"
#include "serve.h"
#include "sockaddr.h"
#include "wire.h"

struct approval_fwd {
	struct approval_fwd *next;
	struct lines_conn *conn;	/* the agent's, held */
	json_t	*id;			/* its request's */
	char	 pod[AUDIT_PODNAME_MAX + 1];
	char	 kid[AUDIT_KID_MAX + 1];
	char	 op[32];
	int	 fd;			/* to the authority */
	ev_io	 rio, wio;
	ev_timer tick;
	struct audit_buf out;
	size_t	 outoff;
	char	*in;			/* an answer line being read */
	size_t	 inlen;
	int	 answered;		/* the authority's first answer came */
	ev_tstamp deadline;		/* for that first answer */
};

static struct approval_fwd *fwds;
static int nfwds;

static const char *const args_members[] = { "request", NULL };

static const char *const request_members[] = {
	"type", "v", "kid", "ts", "nonce", "pod", "op", "args", "reason",
	"sig", NULL
};

static const struct envelope_kind request_kinds[] = {
	{ "approval-request", request_members, 0 },
	{ NULL, NULL, 0 }
};

static void
refuse(struct lines_conn *c, const struct gate_req *q, const char *kind,
    const char *why)
{
	if (node_refusal_counted(c, q->id, kind, why))
		return;
	node_record(c, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "event",
	    "request.refused", "kind", kind, "message", why, "signer", q->kid,
	    "op", q->op, "pod", q->pod), node_error(q->id, kind, why));
}

/*
 * The agent's approval-request in q's args: its own envelope and
 * signature, by the key that signed q, for q's pod, an operation and
 * arguments it can take.  0, or -1 with kind and why.
 */
static int
inner_check(const struct gate_req *q, const json_t *r, const char **kind,
    char *why, size_t whysz)
{
	const json_t *v;
	struct envelope env;
	const struct audit_pubkey *k;
	enum policy_op pop;
	const char *key;
	int rc;

	*kind = "bad_request";
	if ((key = members_unknown(json_object_get(q->obj, "args"),
	    args_members)) != NULL)
		return audit_fmt(why, whysz, "args.%s: unknown member", key),
		    -1;
	if (!json_is_object(r) || envelope_read(r, request_kinds, &env) != 0)
		return audit_fmt(why, whysz, "args.request: expected an "
		    "agent's signed approval-request%s%s", json_is_object(r) ?
		    ": " : "", json_is_object(r) ? env.why : ""), -1;
	if (strcmp(env.kid, q->kid) != 0) {
		*kind = "forbidden";
		return audit_fmt(why, whysz, "args.request: signed by another "
		    "key than the request"), -1;
	}
	v = json_object_get(r, "pod");
	if (!json_is_string(v) || strcmp(json_string_value(v), q->pod) != 0)
		return audit_fmt(why, whysz, "args.request.pod: not the pod "
		    "the request names"), -1;
	v = json_object_get(r, "op");
	if (!json_is_string(v) || policy_op_from_name(json_string_value(v),
	    &pop) != 0)
		return audit_fmt(why, whysz, "args.request.op: expected a "
		    "tool operation of nucleus-protocol(7)"), -1;
	if (args_check(json_string_value(v), json_object_get(r, "args"), why,
	    whysz) != 0)
		return -1;
	pthread_rwlock_rdlock(&N->gate.keys_lock);
	rc = envelope_verify(r, &env, N->gate.keys, (int64_t)time(NULL),
	    N->gate.skew, "node's", &k);
	pthread_rwlock_unlock(&N->gate.keys_lock);
	if (rc != 0) {
		*kind = env.error;
		return audit_fmt(why, whysz, "args.request: %s", env.why), -1;
	}
	return 0;
}

/* How many of kid's approval requests wait on the authority. */
static int
agent_waiting(const char *kid)
{
	int n = 0;

	for (const struct approval_fwd *f = fwds; f != NULL; f = f->next)
		n += strcmp(f->kid, kid) == 0;
	return n;
}

static void
fwd_free(struct approval_fwd *f)
{
	struct approval_fwd **pp;

	for (pp = &fwds; *pp != NULL; pp = &(*pp)->next)
		if (*pp == f) {
			*pp = f->next;
			nfwds--;
			break;
		}
	ev_io_stop(N->loop, &f->rio);
	ev_io_stop(N->loop, &f->wio);
	ev_timer_stop(N->loop, &f->tick);
	if (f->fd >= 0)
		close(f->fd);
	audit_buf_free(&f->out);
	free(f->in);
	json_decref(f->id);
	lines_release(f->conn);
	free(f);
}

/* What the agent is told, recorded first: answer, for the event. */
static void
fwd_say(struct approval_fwd *f, json_t *answer, const char *state,
    const char *kind, const json_t *rid)
{
	json_t *ev = json_pack("{s:s, s:s, s:s, s:s}", "event",
	    "approval.forward", "signer", f->kid, "pod", f->pod, "op", f->op);

	if (ev != NULL && state != NULL)
		json_object_set_new(ev, "state", json_string(state));
	if (ev != NULL && kind != NULL)
		json_object_set_new(ev, "kind", json_string(kind));
	if (ev != NULL && json_is_string(rid))
		json_object_set(ev, "request", (json_t *)rid);
	node_record(f->conn, ev, answer);
}

/* The authority failed us: the agent is told, and the wait ends. */
static void
fwd_fail(struct approval_fwd *f, const char *why)
{
	fwd_say(f, node_error(f->id, "unavailable", why), NULL,
	    "unavailable", NULL);
	fwd_free(f);
}

/* One answer line from the authority: 1 when it ends the wait. */
static int
fwd_answer(struct approval_fwd *f, const char *line, size_t len)
{
	const json_t *res, *err, *st;
	struct audit_err e;
	json_t *a;
	int final;

	if (cjson_parse(line, len, &a, &e) != 0 || !json_is_object(a)) {
		json_decref(a);
		fwd_fail(f, "the authority's answer is not JSON");
		return 1;
	}
	f->answered = 1;
	res = json_object_get(a, "result");
	err = json_object_get(a, "error");
	st = json_object_get(res, "state");
	if (json_is_true(json_object_get(a, "ok")) && json_is_string(st)) {
		final = strcmp(json_string_value(st), "pending") != 0;
		fwd_say(f, node_ok(f->id, json_incref((json_t *)res)),
		    json_string_value(st), NULL, json_object_get(res, "id"));
	} else {
		const char *kind = json_string_value(json_object_get(err,
		    "kind")), *msg = json_string_value(json_object_get(err,
		    "message"));

		final = 1;
		fwd_say(f, node_error(f->id, kind != NULL ? kind : "internal",
		    msg != NULL ? msg : "the authority refused"), NULL,
		    kind != NULL ? kind : "internal", NULL);
	}
	json_decref(a);
	if (final)
		fwd_free(f);
	return final;
}

static void
fwd_read(struct ev_loop *loop, ev_io *w, int revents)
{
	struct approval_fwd *f = w->data;
	char buf[4096], *nl, *s, *p;
	ssize_t n;

	(void)loop;
	(void)revents;
	n = read(f->fd, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		fwd_fail(f, "the authority closed the connection before its "
		    "decision");
		return;
	}
	s = buf;
	while (s < buf + n) {
		nl = memchr(s, '\n', (size_t)(buf + n - s));
		size_t part = (size_t)((nl != NULL ? nl : buf + n) - s);

		if (f->inlen + part > NODE_APPROVAL_LINE_MAX) {
			fwd_fail(f, "the authority sent a line longer than "
			    "the node takes");
			return;
		}
		if ((p = realloc(f->in, f->inlen + part + 1)) == NULL) {
			fwd_fail(f, "out of memory");
			return;
		}
		f->in = p;
		memcpy(f->in + f->inlen, s, part);
		f->inlen += part;
		if (nl == NULL)
			break;
		s = nl + 1;
		f->in[f->inlen] = '\0';
		part = f->inlen;
		f->inlen = 0;
		if (fwd_answer(f, f->in, part))
			return;
	}
}

static void
fwd_write(struct ev_loop *loop, ev_io *w, int revents)
{
	struct approval_fwd *f = w->data;
	ssize_t n;

	(void)revents;
	while (f->outoff < f->out.len) {
		n = send(f->fd, f->out.p + f->outoff, f->out.len - f->outoff,
		    MSG_NOSIGNAL);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			return;
		if (n <= 0) {
			fwd_fail(f, "the authority closed the connection");
			return;
		}
		f->outoff += (size_t)n;
	}
	ev_io_stop(loop, w);
}

/* Each second: the agent gone, or no first answer in time. */
static void
fwd_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct approval_fwd *f = w->data;

	(void)revents;
	if (f->conn->closed)
		fwd_free(f);
	else if (!f->answered && ev_now(loop) > f->deadline)
		fwd_fail(f, "the authority did not answer in time");
}

/* A connection to the authority's request socket, not blocking. */
static int
authority_connect(char *why, size_t whysz)
{
	struct sockaddr_un sun;
	struct audit_err e;
	int fd;

	if (sockaddr_un_fill(&sun, N->authority_sock, &e) != 0)
		return audit_fmt(why, whysz, "%s", e.msg), -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		audit_fmt(why, whysz, "the authority cannot be reached: %s",
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* The attestation: the agent's request, unchanged, signed by the node. */
static int
attest(struct approval_fwd *f, const json_t *r, char *why, size_t whysz)
{
	struct audit_err e;
	json_t *o = json_pack("{s:O}", "request", r);

	if (o == NULL || wire_sign(o, "approval-attested", N->key, &e) != 0 ||
	    cjson_encode(o, &f->out, &e) != 0 ||
	    audit_buf_add(&f->out, "\n", 1) != 0) {
		json_decref(o);
		return audit_fmt(why, whysz, "the attestation cannot be made"),
		    -1;
	}
	json_decref(o);
	return 0;
}

void
approvals_request(struct lines_conn *c, struct gate_req *q)
{
	const json_t *r = json_object_get(json_object_get(q->obj, "args"),
	    "request");
	struct approval_fwd *f;
	const char *kind;
	char why[256];

	if (N->authority_sock == NULL) {
		refuse(c, q, "unavailable", "this node takes no approval "
		    "requests: it names no authority (nucleus-node serve -a)");
		return;
	}
	if (inner_check(q, r, &kind, why, sizeof(why)) != 0) {
		refuse(c, q, kind, why);
		return;
	}
	if (nfwds >= NODE_APPROVALS_MAX) {
		audit_fmt(why, sizeof(why), "%d approval requests wait for the "
		    "authority already", NODE_APPROVALS_MAX);
		refuse(c, q, "unavailable", why);
		return;
	}
	if (agent_waiting(q->kid) >= NODE_APPROVALS_AGENT_MAX) {
		audit_fmt(why, sizeof(why), "%d approval requests of this "
		    "agent wait for the authority already",
		    NODE_APPROVALS_AGENT_MAX);
		refuse(c, q, "unavailable", why);
		return;
	}
	if ((f = calloc(1, sizeof(*f))) == NULL) {
		refuse(c, q, "internal", "out of memory");
		return;
	}
	f->fd = -1;
	/* Each checked already: the gate's pod and kid, policy's op. */
	if (audit_fit(f->pod, sizeof(f->pod), NULL, "%s", q->pod) != 0 ||
	    audit_fit(f->kid, sizeof(f->kid), NULL, "%s", q->kid) != 0 ||
	    audit_fit(f->op, sizeof(f->op), NULL, "%s", json_string_value(
	    json_object_get(r, "op"))) != 0)
		audit_fmt(why, sizeof(why), "the request's names do not fit");
	else if (attest(f, r, why, sizeof(why)) == 0 &&
	    (f->fd = authority_connect(why, sizeof(why))) >= 0)
		why[0] = '\0';
	if (why[0] != '\0') {
		audit_buf_free(&f->out);
		free(f);
		refuse(c, q, "unavailable", why);
		return;
	}
	f->id = json_incref(q->id);
	f->conn = c;
	lines_hold(c);
	f->deadline = ev_now(N->loop) + N->fwd_deadline;
	ev_io_init(&f->rio, fwd_read, f->fd, EV_READ);
	ev_io_init(&f->wio, fwd_write, f->fd, EV_WRITE);
	ev_timer_init(&f->tick, fwd_tick, 1., 1.);
	f->rio.data = f->wio.data = f->tick.data = f;
	ev_io_start(N->loop, &f->rio);
	ev_io_start(N->loop, &f->wio);
	ev_timer_start(N->loop, &f->tick);
	f->next = fwds;
	fwds = f;
	nfwds++;
}

/* The node stops: what still waits is told so. */
void
approvals_stop_all(void)
{
	while (fwds != NULL)
		fwd_fail(fwds, "the node is stopping");
}
