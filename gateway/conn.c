/*
 * The gateway's work: a request for a connection (from the pod's proxy,
 * or anything else on its socket: each is checked alike), checked
 * against the spec the node gave, resolved here, its open record made
 * durable in the node's log, connected to exactly the address checked,
 * handed back as a stream, relayed, and its close recorded.
 *
 *	request  {"id": ID, "host": H, "port": P, "token": T,
 *		 "decision": S, "handed": R}
 *		 (H as the client named it; T, an approval token, for an
 *		 entry with "approval"; S, the seq of the proxy's decision
 *		 record in the pod's log, which the node has durably in its
 *		 copy before it says the open record is)
 *	         + with "handed", the client's own TCP socket, as
 *		 SCM_RIGHTS: the gateway says R to it once connected
 *		 ("connect": an HTTP CONNECT's 200, "socks5": SOCKS5's
 *		 success) and relays it itself, the proxy out of the path
 *	answer   {"id": ID, "ok": true, "address": A, "rule": R}
 *	         + the stream, as SCM_RIGHTS (none when handed)
 *	         {"id": ID, "ok": false, "kind": K, "reason": WHY}
 *		 (a handed client is told nothing then: the proxy, which
 *		 keeps its own descriptor, tells it)
 *
 * Each a SOCK_SEQPACKET message of GATEWAY_MSG_MAX bytes at most.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fdmsg.h"
#include "members.h"
#include "gateway.h"

static void stream_free(struct gw_stream *);

/* A message to the node: a record, with its sequence number, and the
 * decision it follows when the asker named one (-1: none). */
static uint64_t
audit_send(json_t *record, int wait, int64_t decision)
{
	uint64_t seq = ++G->next_seq;
	json_t *m = json_pack("{s:I, s:b, s:o}", "seq", (json_int_t)seq,
	    "wait", wait, "record", record);
	char *text;
	ssize_t n = -1;

	if (m != NULL && decision >= 0)
		json_object_set_new(m, "decision", json_integer(
		    (json_int_t)decision));
	text = m != NULL ? json_dumps(m, JSON_COMPACT) : NULL;
	json_decref(m);
	if (text != NULL) {
		do
			n = send(G->audit_fd, text, strlen(text),
			    MSG_NOSIGNAL);
		while (n < 0 && errno == EINTR);
	}
	free(text);
	if (n < 0) {
		/* No record, no connection: the node is gone. */
		fprintf(stderr, "nucleus-gateway: the node's channel: %s\n",
		    strerror(errno));
		ev_break(G->loop, EVBREAK_ALL);
		return 0;
	}
	return seq;
}

/*
 * Watch c's socket for what waits; read c only while fewer than
 * GATEWAY_ANSWERS_MAX of its answers wait: an asker that takes no
 * answers asks no more.
 */
static void
conn_watch(struct gw_conn *c, int waiting)
{
	if (waiting)
		ev_io_start(G->loop, &c->wio);
	else
		ev_io_stop(G->loop, &c->wio);
	if (c->held.n < GATEWAY_ANSWERS_MAX)
		ev_io_start(G->loop, &c->rio);
	else
		ev_io_stop(G->loop, &c->rio);
}

static void
conn_write(struct ev_loop *loop, ev_io *w, int revents)
{
	struct gw_conn *c = w->data;

	(void)loop;
	(void)revents;
	conn_watch(c, fdmsg_q_flush(&c->held, c->fd));
}

/*
 * An answer to c (NULL: its asker is gone), with fd when it is not -1
 * (the caller's still).  What c's socket cannot take now waits, and
 * goes when it can (fdmsg_q): an answer is never lost to an asker slow
 * to take it (a proxy's client waits for its own).
 */
static void
answer(struct gw_conn *c, json_t *a, int fd)
{
	char *text = json_dumps(a, JSON_COMPACT);

	json_decref(a);
	if (text != NULL && c != NULL) {
		(void)fdmsg_q_send(&c->held, c->fd, text, strlen(text), fd);
		conn_watch(c, c->held.n > 0);
	}
	free(text);
}

static int64_t
now_ms(void)
{
	return audit_now_ms(CLOCK_MONOTONIC);
}

/* Whether this refusal may be recorded: GATEWAY_REFUSALS_MAX in the
 * last GATEWAY_RATE_MS were. */
static int
refusal_recorded(void)
{
	int64_t now = now_ms();

	if (G->nrefused == GATEWAY_REFUSALS_MAX && now -
	    G->refused[G->refused_next] < GATEWAY_RATE_MS) {
		G->unrecorded++;
		return 0;
	}
	G->refused[G->refused_next] = now;
	G->refused_next = (G->refused_next + 1) % GATEWAY_REFUSALS_MAX;
	if (G->nrefused < GATEWAY_REFUSALS_MAX)
		G->nrefused++;
	return 1;
}

/* Refused: recorded (not awaited: nothing leaves), and answered. */
static void
refuse(struct gw_conn *c, json_t *id, const char *host, int port,
    const char *kind, const char *why, const struct net_addr *addr,
    const char *class)
{
	json_t *ev = json_pack("{s:s, s:s, s:s, s:i, s:s, s:s}", "event",
	    "egress.refused", "pod", G->pod, "host", host, "port", port,
	    "kind", kind, "reason", why);
	char text[64];

	if (ev != NULL && addr != NULL) {
		netspec_addr_text(addr, text, sizeof(text));
		json_object_set_new(ev, "address", json_string(text));
		if (class != NULL)
			json_object_set_new(ev, "address_class",
			    json_string(class));
	}
	if (ev != NULL && refusal_recorded()) {
		if (G->unrecorded > 0)
			json_object_set_new(ev, "unrecorded", json_integer(
			    (json_int_t)G->unrecorded));
		G->unrecorded = 0;
		(void)audit_send(ev, 0, -1);	/* it takes ev */
	} else
		json_decref(ev);
	answer(c, json_pack("{s:O, s:b, s:s, s:s}", "id", id != NULL ? id :
	    json_null(), "ok", 0, "kind", kind, "reason", why), -1);
}

static void
close_record(struct gw_stream *s, const char *how, uint64_t out,
    uint64_t in)
{
	(void)audit_send(json_pack("{s:s, s:s, s:s, s:i, s:s, s:I, s:I, s:I, "
	    "s:I, s:s}", "event", "egress.close", "pod", G->pod, "host",
	    s->host, "port", s->port, "address", s->addr_text, "stream",
	    (json_int_t)s->seq, "bytes_out", (json_int_t)out, "bytes_in",
	    (json_int_t)in, "duration_ms", (json_int_t)(now_ms() -
	    s->opened_ms), "how", how), 0, -1);
}

static void
relayed(struct relay *r, void *arg)
{
	struct gw_stream *s = arg;

	close_record(s, r->how, r->way[0].bytes, r->way[1].bytes);
	stream_free(s);
}

/* The few bytes of a reply, to a client's socket that takes them. */
static void
tell_client(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;	/* gone: the relay sees it */
		p += w;
		n -= (size_t)w;
	}
}

/* Connected (or not): the stream handed over and relayed. */
static void
connected(struct gw_stream *s, int error)
{
	int pair[2] = { -1, -1 };

	ev_io_stop(G->loop, &s->cio);
	ev_timer_stop(G->loop, &s->cto);
	if (error == 0 && s->conn == NULL)
		error = ECONNABORTED;
	if (error == 0 && s->client >= 0) {
		/* Told first, so that nothing the host says comes before. */
		pair[0] = s->client;
		s->client = -1;
		tell_client(pair[0], s->reply, s->reply_len);
	} else if (error == 0 && socketpair(AF_UNIX, SOCK_STREAM |
	    SOCK_CLOEXEC, 0, pair) != 0)
		error = errno;
	if (error != 0) {
		char why[NET_HOST_MAX + 256];

		snprintf(why, sizeof(why), "connect to %s port %d: %s",
		    s->addr_text, s->port, strerror(error));
		close_record(s, error == ETIMEDOUT ? "timeout" :
		    error == ECONNABORTED ? "abandoned" : "unreachable", 0, 0);
		answer(s->conn, json_pack("{s:O, s:b, s:s, s:s}", "id", s->id,
		    "ok", 0, "kind", "unreachable", "reason", why), -1);
		stream_free(s);
		return;
	}
	answer(s->conn, json_pack("{s:O, s:b, s:s, s:s}", "id", s->id, "ok",
	    1, "address", s->addr_text, "rule", s->rule), pair[1]);
	if (pair[1] >= 0)
		close(pair[1]);
	s->relaying = 1;
	relay_start(&s->relay, G->loop, pair[0], s->fd, relayed, s);
	relay_limit(&s->relay, G->spec.idle_s, &G->budget);
	s->fd = -1;	/* the relay's */
}

static void
connect_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct gw_stream *s = w->data;
	int error = 0;
	socklen_t len = sizeof(error);

	(void)loop;
	(void)revents;
	if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0)
		error = errno;
	connected(s, error);
}

static void
connect_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	connected(w->data, ETIMEDOUT);
}

/* The open record is durable: now, and only now, connect(2). */
static void
dial(struct gw_stream *s)
{
	struct sockaddr_storage ss;
	socklen_t len;

	memset(&ss, 0, sizeof(ss));
	if (s->addr.family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;

		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)s->port);
		memcpy(&in->sin_addr, s->addr.a, 4);
		len = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)s->port);
		memcpy(&in6->sin6_addr, s->addr.a, 16);
		len = sizeof(*in6);
	}
	s->opened_ms = now_ms();
	if ((s->fd = socket(s->addr.family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) < 0) {
		connected(s, errno);
		return;
	}
	if (connect(s->fd, (struct sockaddr *)&ss, len) == 0) {
		connected(s, 0);
		return;
	}
	if (errno != EINPROGRESS) {
		connected(s, errno);
		return;
	}
	ev_io_init(&s->cio, connect_io, s->fd, EV_WRITE);
	s->cio.data = s;
	ev_io_start(G->loop, &s->cio);
	ev_timer_init(&s->cto, connect_timeout, GATEWAY_CONNECT_MS / 1000.,
	    0.);
	s->cto.data = s;
	ev_timer_start(G->loop, &s->cto);
}

static void
stream_free(struct gw_stream *s)
{
	for (struct gw_stream **p = &G->streams; *p != NULL; p = &(*p)->next)
		if (*p == s) {
			*p = s->next;
			break;
		}
	G->open--;
	if (s->lookup != NULL)
		gw_resolve_cancel(s->lookup);
	ev_timer_stop(G->loop, &s->cto);
	if (s->fd >= 0)
		close(s->fd);
	if (s->client >= 0)
		close(s->client);
	json_decref(s->id);
	json_decref(s->token);
	json_decref(s->approval);
	free(s->named);
	free(s);
}

/* Whether connections_per_minute were opened in the last minute. */
static int
rate_full(void)
{
	return G->nopened == G->spec.per_minute && now_ms() -
	    G->opened[G->opened_next] < GATEWAY_RATE_MS;
}

static void
rate_note(void)
{
	G->opened[G->opened_next] = now_ms();
	G->opened_next = (G->opened_next + 1) % G->spec.per_minute;
	if (G->nopened < G->spec.per_minute)
		G->nopened++;
}

/* connections_per_minute or max_bytes spent, so that no connection
 * goes now: its kind and why, or NULL.  Asked when a request comes, and
 * again once its name resolves (others may have opened meanwhile). */
static const char *
spent_limit(char *why, size_t sz)
{
	if (rate_full()) {
		snprintf(why, sz, "the pod opened %d connections in the last "
		    "minute, its network.connections_per_minute",
		    G->spec.per_minute);
		return "rate_limited";
	}
	if (G->budget <= 0) {
		snprintf(why, sz, "the pod's connections have carried its "
		    "network.max_bytes, %lld bytes", G->spec.max_bytes);
		return "bytes_limit";
	}
	return NULL;
}

/* A limit of the pod's network member that refuses a request now. */
static const char *
over_limit(char *why, size_t sz)
{
	if (G->open >= G->spec.max_connections) {
		snprintf(why, sz, "the pod has %d connections open, its "
		    "network.max_connections", G->open);
		return "too_many";
	}
	return spent_limit(why, sz);
}

/*
 * Which address of the host to dial and under which rule: an address a
 * cidr entry admits, or one of a listed name's that is of no refused
 * class.  0, or -1 with the refusal made.
 */
static int
choose(struct gw_stream *s, const struct net_addr *addrs, int n)
{
	const struct net_addr *bad = NULL;
	const char *class = NULL;
	char why[NET_HOST_MAX + 256];
	int rule = -1;

	if (n == 0) {
		snprintf(why, sizeof(why), "%s does not resolve%s", s->host,
		    s->byname < 0 ? " from the hosts file (a name no host entry "
		    "admits is not asked of DNS)" : "");
		refuse(s->conn, s->id, s->host, s->port, "unresolved", why,
		    NULL, NULL);
		return -1;
	}
	for (int i = 0; i < n && rule < 0; i++) {
		const char *cl = netspec_forbidden(&addrs[i]);

		if ((rule = netspec_match_addr(&G->spec, &addrs[i],
		    s->port)) < 0 && s->byname >= 0 && cl == NULL)
			rule = s->byname;
		if (rule >= 0)
			s->addr = addrs[i];
		else if (bad == NULL) {
			bad = &addrs[i];
			class = cl;
		}
	}
	if (rule < 0) {
		char a[64];

		netspec_addr_text(bad, a, sizeof(a));
		if (class != NULL)
			snprintf(why, sizeof(why), "%s resolves to %s, a %s "
			    "address, which no cidr entry admits", s->host, a,
			    class);
		else
			snprintf(why, sizeof(why), "no entry of the pod's "
			    "network.allow admits %s port %d", a, s->port);
		refuse(s->conn, s->id, s->host, s->port, class != NULL ?
		    "forbidden_address" : "egress_denied", why, bad, class);
		return -1;
	}
	if ((G->spec.rules[rule].approval || G->every_approval) &&
	    gw_token(s->token, s->named, s->port, &s->approval, why,
	    sizeof(why)) != 0) {
		refuse(s->conn, s->id, s->host, s->port, s->token == NULL ?
		    "approval_required" : "invalid_approval", why, &s->addr,
		    NULL);
		return -1;
	}
	netspec_addr_text(&s->addr, s->addr_text, sizeof(s->addr_text));
	netspec_rule_text(&G->spec.rules[rule], s->rule, sizeof(s->rule));
	return 0;
}

/* The host's addresses: checked, and its open record asked for. */
static void
resolved(void *arg, const struct net_addr *addrs, int n)
{
	struct gw_stream *s = arg;
	const char *limit;
	char why[NET_HOST_MAX + 256];

	s->lookup = NULL;
	ev_timer_stop(G->loop, &s->cto);
	if (s->conn != NULL && (limit = spent_limit(why, sizeof(why))) !=
	    NULL)
		refuse(s->conn, s->id, s->host, s->port, limit, why, NULL,
		    NULL);
	else if (s->conn != NULL && choose(s, addrs, n) == 0) {
		json_t *open = json_pack("{s:s, s:s, s:s, s:i, s:s, s:s}",
		    "event", "egress.open", "pod", G->pod, "host", s->host,
		    "port", s->port, "address", s->addr_text, "rule", s->rule);

		/* The token it spends: the node's ledger takes it too. */
		if (open != NULL && s->approval != NULL)
			json_object_set(open, "approval", s->approval);
		if ((s->seq = audit_send(open, 1, s->decision)) != 0)
			rate_note();
		return;	/* it waits for its record (or the loop ends) */
	}
	stream_free(s);	/* its asker gone, or refused */
}


static void
resolve_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct gw_stream *s = w->data;
	char why[NET_HOST_MAX + 64];

	(void)loop;
	(void)revents;
	gw_resolve_cancel(s->lookup);
	s->lookup = NULL;
	snprintf(why, sizeof(why), "%s did not resolve within "
	    "GATEWAY_RESOLVE_MS", s->host);
	refuse(s->conn, s->id, s->host, s->port, "unresolved", why, NULL,
	    NULL);
	stream_free(s);
}

/* Resolve the stream's host (an address is its own), or refuse it. */
static void
resolve(struct gw_stream *s)
{
	struct net_addr a;
	struct lookup *l;
	char why[NET_HOST_MAX + 64];
	int refused;

	s->byname = -1;
	if (netspec_literal(s->host, &a)) {
		resolved(s, &a, 1);
		return;
	}
	s->byname = netspec_match_name(&G->spec, s->host, s->port);
	if (s->byname < 0 && !netspec_cidr_port(&G->spec, s->port)) {
		snprintf(why, sizeof(why), "no entry of the pod's "
		    "network.allow admits %s port %d", s->host, s->port);
		refuse(s->conn, s->id, s->host, s->port, "egress_denied", why,
		    NULL, NULL);
		stream_free(s);
		return;
	}
	if ((l = gw_resolve(s->host, s->byname < 0, resolved, s,
	    &refused)) == NULL) {
		if (refused) {
			refuse(s->conn, s->id, s->host, s->port, "unresolved",
			    "the gateway has GATEWAY_LOOKUPS_MAX lookups "
			    "under way", NULL, NULL);
			stream_free(s);
		}
		return;	/* answered already (-H) */
	}
	s->lookup = l;
	ev_timer_init(&s->cto, resolve_timeout, GATEWAY_RESOLVE_MS / 1000.,
	    0.);
	s->cto.data = s;
	ev_timer_start(G->loop, &s->cto);
}

/*
 * What a handed client is told once connected, by the request's
 * "handed"; NULL for none of them.
 */
static const char *
reply_of(const json_t *handed, size_t *len)
{
	static const char established[] = "HTTP/1.1 200 Connection "
	    "established\r\n\r\n";
	static const char socks_ok[] = { 5, 0, 0, 1, 0, 0, 0, 0, 0, 0 };
	const char *h = json_string_value(handed);

	if (h != NULL && strcmp(h, "connect") == 0) {
		*len = sizeof(established) - 1;
		return established;
	}
	if (h != NULL && strcmp(h, "socks5") == 0) {
		*len = sizeof(socks_ok);
		return socks_ok;
	}
	return NULL;
}

/*
 * A handed descriptor is a client's TCP connection, or nothing the
 * gateway reads or writes: whatever else an asker passes (a file, a
 * pipe, a Unix socket, a listening one) is refused unread.
 */
static int
tcp_client(int fd)
{
	struct stat st;
	int type = 0, domain = 0, listening = 1;
	socklen_t l1 = sizeof(type), l2 = sizeof(domain),
	    l3 = sizeof(listening);

	return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode) &&
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l1) == 0 &&
	    type == SOCK_STREAM &&
	    getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &l2) == 0 &&
	    (domain == AF_INET || domain == AF_INET6) &&
	    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &l3) == 0 &&
	    !listening &&
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == 0;
}

/* One request from c, and the descriptor that came with it (or -1). */
static void
request(struct gw_conn *c, const char *msg, size_t len, int fd)
{
	json_t *r = json_loadb(msg, len, JSON_REJECT_DUPLICATES, NULL);
	const json_t *host = json_object_get(r, "host");
	const json_t *port = json_object_get(r, "port");
	const json_t *id = json_object_get(r, "id");
	const json_t *handed = json_object_get(r, "handed");
	struct gw_stream *s = NULL;
	const char *limit, *reply = NULL;
	size_t reply_len = 0;
	char why[NET_HOST_MAX + 256];

	if (r == NULL || !json_is_string(host) || !json_is_integer(port) ||
	    json_integer_value(port) < 1 || json_integer_value(port) > 65535 ||
	    json_string_length(host) > NET_HOST_MAX + 2 ||
	    (handed != NULL && (reply = reply_of(handed, &reply_len)) ==
	    NULL)) {
		answer(c, json_pack("{s:O, s:b, s:s, s:s}", "id", id != NULL ?
		    id : json_null(), "ok", 0, "kind", "bad_request", "reason",
		    "expected {\"id\", \"host\", \"port\"}, and \"handed\" "
		    "\"connect\" or \"socks5\" or none"), -1);
		goto out;
	}
	if ((reply != NULL) != (fd >= 0) || (fd >= 0 && !tcp_client(fd))) {
		answer(c, json_pack("{s:O, s:b, s:s, s:s}", "id", id != NULL ?
		    id : json_null(), "ok", 0, "kind", "bad_request", "reason",
		    "a handed client is one TCP connection, with \"handed\" "
		    "and only with it"), -1);
		goto out;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		goto out;
	s->fd = -1;
	s->client = fd;
	fd = -1;	/* the stream's */
	s->reply = reply;
	s->reply_len = reply_len;
	s->id = json_incref(id != NULL ? (json_t *)id : json_null());
	s->port = (int)json_integer_value(port);
	if (!netspec_name(json_string_value(host), json_string_length(host),
	    s->host)) {
		struct net_addr a;

		if (!netspec_literal(json_string_value(host), &a)) {
			snprintf(s->host, sizeof(s->host), "%s", "?");
			refuse(c, s->id, s->host, s->port, "bad_request",
			    "the host is neither a name nor an address", NULL,
			    NULL);
			goto out;
		}
		netspec_addr_text(&a, s->host, sizeof(s->host));
	}
	if ((limit = over_limit(why, sizeof(why))) != NULL) {
		refuse(c, s->id, s->host, s->port, limit, why, NULL, NULL);
		goto out;
	}
	if ((s->named = strdup(json_string_value(host))) == NULL)
		goto out;
	s->token = json_incref(json_object_get(r, "token"));
	s->decision = members_seq(r, "decision");
	s->conn = c;
	s->next = G->streams;
	G->streams = s;
	G->open++;	/* counted from now on, resolving too */
	resolve(s);
	s = NULL;
out:
	if (s != NULL) {
		if (s->client >= 0)
			close(s->client);
		json_decref(s->id);
		free(s->named);
		free(s);
	}
	if (fd >= 0)
		close(fd);
	json_decref(r);
}

/* The node's answer: a record is durable, or could not be made. */
void
gw_audit_read(struct ev_loop *loop, ev_io *w, int revents)
{
	char buf[GATEWAY_MSG_MAX];
	ssize_t n = recv(w->fd, buf, sizeof(buf), MSG_DONTWAIT);
	const char *kind, *why;
	json_t *a;
	uint64_t seq;

	(void)revents;
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* The node is gone: so is every way out. */
		ev_break(loop, EVBREAK_ALL);
		return;
	}
	if ((a = json_loadb(buf, (size_t)n, 0, NULL)) == NULL)
		return;
	seq = (uint64_t)json_integer_value(json_object_get(a, "seq"));
	for (struct gw_stream *s = G->streams; s != NULL; s = s->next) {
		if (s->seq != seq || s->relaying || s->fd >= 0)
			continue;
		kind = json_string_value(json_object_get(a, "kind"));
		why = json_string_value(json_object_get(a, "reason"));
		if (json_is_true(json_object_get(a, "ok")))
			dial(s);
		else {
			/* The node's refusal (a token it saw spent), or none. */
			answer(s->conn, json_pack("{s:O, s:b, s:s, s:s}", "id",
			    s->id, "ok", 0, "kind", kind != NULL && why != NULL ?
			    kind : "unavailable", "reason", kind != NULL &&
			    why != NULL ? why : "the node could not record "
			    "the connection"), -1);
			stream_free(s);
		}
		break;
	}
	json_decref(a);
}

static void
conn_gone(struct gw_conn *c)
{
	for (struct gw_conn **p = &G->conns; *p != NULL; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	/* Streams handed over live on; those not yet are abandoned. */
	for (struct gw_stream *s = G->streams; s != NULL; s = s->next)
		if (s->conn == c)
			s->conn = NULL;
	ev_io_stop(G->loop, &c->rio);
	ev_io_stop(G->loop, &c->wio);
	fdmsg_q_free(&c->held);
	close(c->fd);
	G->nconns--;
	free(c);
}

static void
conn_read(struct ev_loop *loop, ev_io *w, int revents)
{
	struct gw_conn *c = w->data;
	char buf[GATEWAY_MSG_MAX + 1];
	int fd;
	/* a message longer than GATEWAY_MSG_MAX fills buf: cut, refused */
	ssize_t n = fdmsg_recv(c->fd, buf, sizeof(buf), &fd);

	(void)loop;
	(void)revents;
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_gone(c);
		return;
	}
	if ((size_t)n > GATEWAY_MSG_MAX) {
		if (fd >= 0)
			close(fd);
		answer(c, json_pack("{s:n, s:b, s:s, s:s}", "id", "ok", 0,
		    "kind", "bad_request", "reason", "the request is longer "
		    "than GATEWAY_MSG_MAX"), -1);
		return;
	}
	request(c, buf, (size_t)n, fd);
}

void
gw_add_conn(int fd)
{
	struct gw_conn *c;

	if (G->nconns >= GATEWAY_CLIENTS_MAX ||
	    (c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return;
	}
	c->fd = fd;
	fdmsg_q_init(&c->held);
	ev_io_init(&c->rio, conn_read, fd, EV_READ);
	ev_io_init(&c->wio, conn_write, fd, EV_WRITE);
	c->rio.data = c->wio.data = c;
	ev_io_start(G->loop, &c->rio);
	c->next = G->conns;
	G->conns = c;
	G->nconns++;
}

void
gw_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	int fd = accept4(w->fd, NULL, NULL, SOCK_CLOEXEC);

	(void)loop;
	(void)revents;
	if (fd >= 0)
		gw_add_conn(fd);
}
