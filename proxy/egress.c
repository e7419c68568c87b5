/*
 * The pod's way out, in the pod (egress.h).  Each client connection on
 * 127.0.0.1:EGRESS_PORT is one operation:
 *
 *	header (HTTP or SOCKS5) -> decide: the policy's web_fetch, the
 *	  pod's network.allow, an approval token where the entry (or the
 *	  policy's obligations) asks for one -> decision record (op
 *	  "connect", args {"host", "port"}), durable ->
 *	  refused: HTTP 403 with the reason, or the SOCKS5 reply code
 *	  allowed: asked of the gateway on the host (-G), which checks it
 *	  again, resolves, records and dials; its answer carries the
 *	  stream -> "200 Connection established", or SOCKS5 success (or the
 *	  plain request passed on) -> bytes relayed both ways
 *
 * The gateway's answer names the request by a number of the proxy's.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "fdmsg.h"
#include "proxy.h"
#include "approval.h"
#include "egress.h"
#include "pstate.h"
#include "relay.h"

enum client_stage {
	CL_HELLO,		/* SOCKS5: the greeting read */
	CL_HEADER,		/* reading the request's header */
	CL_DECIDING,		/* its decision record is with the log */
	CL_GATEWAY,		/* asked of the gateway */
	CL_RELAY,
};

struct client {
	struct client *next;
	int	 fd;
	int	 reading;	/* fd is in E.ep */
	ev_timer deadline;
	enum client_stage stage;
	char	 buf[EGRESS_HEADER_MAX];
	size_t	 len;
	struct egress_target t;
	char	 name[NET_HOST_MAX + 1];	/* t.host, lower case */
	int	 rule;		/* netspec's, or -1 */
	int	 sniffed;	/* the protocol is known */
	int	 bad;		/* not a request: 1, or 2 a bad greeting */
	uint64_t id;		/* the gateway's request */
	int	 handed;	/* the gateway was given fd to relay */
	struct req *req;	/* its decision, with the log */
	struct relay relay;
	char	*basic;		/* t.basic decoded, when it holds a token */
};

static struct {
	struct netspec *spec;
	int	 gw;		/* the gateway: SOCK_SEQPACKET */
	int	 hand;		/* it is the host's own (-G), which takes
				   a client's socket and relays it */
	ev_io	 gw_io;
	int	 lfd;
	ev_io	 lio;
	int	 ep;		/* the clients read before the gateway's
				   answer: an epoll set of our own */
	ev_io	 epio;
	struct client *clients;
	int	 nclients;
	uint64_t next_id;
} E = { .gw = -1, .lfd = -1, .ep = -1 };

/*
 * A client's socket is read through an epoll set of egress.c's own (E.ep,
 * itself watched by the loop), never the loop's: a socket handed to the
 * gateway lives on in the gateway after our copy is closed, and libev,
 * which never removes a descriptor from its set when a watcher stops,
 * would go on hearing of it: woken for each of the tunnel's bytes, and,
 * once our copy is closed, making its whole set again (an error from
 * epoll_ctl on a closed descriptor).  Here the socket leaves the set
 * before it is handed or closed.
 */
static void
client_watch(struct client *c, int on)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };

	if (on == c->reading)
		return;
	if (epoll_ctl(E.ep, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, c->fd,
	    &ev) == 0 || !on)
		c->reading = on;
}

static void
client_free(struct client *c)
{
	for (struct client **p = &E.clients; *p != NULL; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	E.nclients--;
	if (c->req != NULL)
		c->req->egress = NULL;	/* its record completes alone */
	client_watch(c, 0);
	ev_timer_stop(P->loop, &c->deadline);
	if (c->fd >= 0)
		close(c->fd);
	free(c->basic);
	free(c);
}

static void
send_all(int fd, const void *p, size_t n)
{
	const char *s = p;

	/* A refusal's few bytes: the socket takes them, or the client is
	 * gone and loses nothing it could use. */
	while (n > 0) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

static const uint8_t socks_ok[] = { 5, 0, 0, 1, 0, 0, 0, 0, 0, 0 };

/* The client told no, in its protocol's words, and gone. */
/*
 * The refusal in headers too, for a client that cannot read a CONNECT's
 * body (web_fetch's libcurl): EGRESS_REFUSAL_HEADER, the kind (letters
 * and _ only), and for approval_required EGRESS_DIGEST_HEADER, the
 * args_digest a token must name.
 */
static void
refusal_headers(const char *kind, const char *why, char *out, size_t outsz)
{
	static const char tag[] = "\nargs_digest: ";
	const char *d;

	out[0] = '\0';
	if (strspn(kind, "abcdefghijklmnopqrstuvwxyz_") != strlen(kind) ||
	    strlen(kind) > 32)
		return;
	if (strcmp(kind, "approval_required") == 0 &&
	    (d = strstr(why, tag)) != NULL &&
	    strspn(d + strlen(tag), "0123456789abcdef") == AUDIT_HEX_LEN)
		snprintf(out, outsz, EGRESS_REFUSAL_HEADER ": %s\r\n"
		    EGRESS_DIGEST_HEADER ": %.*s\r\n", kind, AUDIT_HEX_LEN,
		    d + strlen(tag));
	else
		snprintf(out, outsz, EGRESS_REFUSAL_HEADER ": %s\r\n", kind);
}

static void
refuse(struct client *c, int status, int socks, const char *kind,
    const char *why)
{
	if (c->t.socks) {
		uint8_t r[10] = { 5, (uint8_t)socks, 0, 1 };

		if (c->stage == CL_HELLO) {
			r[1] = 0xff;	/* no acceptable method */
			send_all(c->fd, r, 2);
		} else
			send_all(c->fd, r, sizeof(r));
	} else {
		char msg[POLICY_REASON_MAX + 256];
		int body = snprintf(msg, sizeof(msg), "%s: %s\n", kind, why);
		char head[512], extra[256];
		int hn;

		if (body < 0 || (size_t)body >= sizeof(msg))
			body = (int)strlen(msg);
		refusal_headers(kind, why, extra, sizeof(extra));
		hn = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\n"
		    "Content-Type: text/plain\r\nContent-Length: %d\r\n"
		    "%sConnection: close\r\n\r\n", status, status == 403 ?
		    "Forbidden" : status == 400 ? "Bad Request" :
		    status == 502 ? "Bad Gateway" : "Service Unavailable",
		    body, extra);
		send_all(c->fd, head, (size_t)hn);
		send_all(c->fd, msg, (size_t)body);
	}
	client_free(c);
}

static void
relayed(struct relay *r, void *arg)
{
	struct client *c = arg;

	(void)r;
	c->fd = -1;	/* the relay closed it */
	client_free(c);
}

/*
 * The request to the gateway: one message, naming the decision's
 * record (its seq in this log), which the node holds durably in its
 * copy before the connection is made.  To the host's own gateway (-G) a
 * CONNECT or a SOCKS5 request of which nothing past the header was read
 * goes with the client's socket: the gateway tells the client it is
 * connected and relays it itself (one process fewer each way, and on
 * the answer).  The proxy keeps its descriptor until the answer, to
 * refuse the client itself when it is no; it reads nothing more of it.
 */
static int
ask_gateway(struct client *c, uint64_t decision)
{
	json_t *m;
	char *text;
	ssize_t n = -1;
	int hand = E.hand && (c->t.connect || c->t.socks) &&
	    c->len == c->t.used;

	c->id = ++E.next_id;
	/* The host as the client named it (the gateway reads it again, and
	 * a token names it so), and the token, which the gateway checks
	 * again for an entry that asks for one. */
	m = json_pack("{s:I, s:s, s:i, s:I}", "id", (json_int_t)c->id,
	    "host", c->t.host, "port", c->t.port, "decision",
	    (json_int_t)decision);
	if (m != NULL && c->t.token != NULL)
		json_object_set_new(m, "token", json_loadb(c->t.token,
		    c->t.token_len, JSON_REJECT_DUPLICATES, NULL));
	if (m != NULL && hand)
		json_object_set_new(m, "handed", json_string(c->t.socks ?
		    "socks5" : "connect"));
	text = m != NULL ? json_dumps(m, JSON_COMPACT) : NULL;
	json_decref(m);
	if (text != NULL)
		n = fdmsg_send(E.gw, text, strlen(text), hand ? c->fd : -1);
	free(text);
	if (n < 0)
		return -1;
	c->stage = CL_GATEWAY;
	if (hand) {
		c->handed = 1;
		client_watch(c, 0);	/* the gateway's to read */
		ev_timer_stop(P->loop, &c->deadline);
	}
	return 0;
}

/* A plain request's Host: its URL's authority, the host as the client
 * named it (brackets and all) and a port other than 80. */
static void
host_header(int stream, const struct egress_target *t)
{
	char line[NET_HOST_MAX + 32];
	int n = t->port != 80 ? snprintf(line, sizeof(line), "Host: %s:%d\r\n",
	    t->host, t->port) : snprintf(line, sizeof(line), "Host: %s\r\n",
	    t->host);

	if (n > 0 && (size_t)n < sizeof(line))
		send_all(stream, line, (size_t)n);
}

/* The stream is here: the client told, and bytes relayed. */
static void
streaming(struct client *c, int stream)
{
	static const char established[] = "HTTP/1.1 200 Connection "
	    "established\r\n\r\n";
	int fd = c->fd;

	client_watch(c, 0);
	ev_timer_stop(P->loop, &c->deadline);
	if (c->t.socks)
		send_all(fd, socks_ok, sizeof(socks_ok));
	else if (c->t.connect)
		send_all(fd, established, sizeof(established) - 1);
	else {
		/* A plain request: its line in origin form, its header
		 * without the proxy's lines, one request per connection. */
		const char *p = memmem(c->buf, c->len, "\r\n", 2) + 2;
		const char *end = c->buf + c->t.used - 2;

		send_all(stream, c->t.method, c->t.method_len);
		send_all(stream, " ", 1);
		send_all(stream, c->t.path, c->t.path_len);
		send_all(stream, " HTTP/1.1\r\n", 11);
		host_header(stream, &c->t);
		while (p < end) {
			const char *eol = memmem(p, (size_t)(end - p), "\r\n",
			    2);
			size_t n = (size_t)(eol - p);

			if (egress_header_kept(p, n)) {
				send_all(stream, p, n);
				send_all(stream, "\r\n", 2);
			}
			p = eol + 2;
		}
		send_all(stream, "Connection: close\r\n\r\n", 21);
	}
	/* What came after the header goes on first. */
	if (c->len > c->t.used)
		send_all(stream, c->buf + c->t.used, c->len - c->t.used);
	c->stage = CL_RELAY;
	relay_start(&c->relay, P->loop, fd, stream, relayed, c);
}

/* The gateway is gone (or given way to a new one): those waiting for
 * its answer are told so; nothing more goes out through it. */
static void
gateway_gone(void)
{
	struct client *next;

	ev_io_stop(P->loop, &E.gw_io);
	close(E.gw);
	E.gw = -1;
	for (struct client *c = E.clients; c != NULL; c = next) {
		next = c->next;
		if (c->stage == CL_GATEWAY)
			refuse(c, 503, 1, "unavailable", "the host's gateway "
			    "is gone");
	}
}

/* The gateway's answer, with the stream when it is yes. */
/*
 * The gateway's refusal, as the client hears it, by its kind: a host it
 * could not reach or resolve 502 (SOCKS5: host unreachable); no host
 * side to ask (a VM's port with no node behind it) 503 (general
 * failure), as the local driver's gateway gone is; a request it could
 * not read 400 (general failure); any other, not allowed, 403 (SOCKS5:
 * not allowed).
 */
static void
refused_by_gateway(struct client *c, const char *kind, const char *why)
{
	int status = 403, reply = 2;

	if (kind != NULL && (strcmp(kind, "unreachable") == 0 ||
	    strcmp(kind, "unresolved") == 0)) {
		status = 502;
		reply = 4;
	} else if (kind != NULL && strcmp(kind, "unavailable") == 0) {
		status = 503;
		reply = 1;
	} else if (kind != NULL && strcmp(kind, "bad_request") == 0) {
		status = 400;
		reply = 1;
	}
	refuse(c, status, reply, kind != NULL ? kind : "egress_denied",
	    why != NULL ? why : "the gateway refused");
}

static void
gateway_read(struct ev_loop *loop, ev_io *w, int revents)
{
	char buf[1024];
	int stream;
	ssize_t n = fdmsg_recv(w->fd, buf, sizeof(buf) - 1, &stream);
	json_t *a;
	uint64_t id;

	(void)loop;
	(void)revents;
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		gateway_gone();
		return;
	}
	a = json_loadb(buf, (size_t)n, 0, NULL);
	id = (uint64_t)json_integer_value(json_object_get(a, "id"));
	for (struct client *c = E.clients; c != NULL; c = c->next) {
		if (c->stage != CL_GATEWAY || c->id != id)
			continue;
		if (c->handed && json_is_true(json_object_get(a, "ok")))
			client_free(c);	/* told and relayed there */
		else if (json_is_true(json_object_get(a, "ok")) && stream >= 0 &&
		    !c->handed) {
			streaming(c, stream);
			stream = -1;
		} else
			refused_by_gateway(c, json_string_value(
			    json_object_get(a, "kind")), json_string_value(
			    json_object_get(a, "reason")));
		break;
	}
	if (stream >= 0)
		close(stream);
	json_decref(a);
}

/* The decision record of c is durable (or failed): on with it. */
void
egress_advance(struct req *r)
{
	struct client *c = r->egress;
	int allowed = r->audit_error == 0 && r->d.verdict == VERDICT_ALLOW;

	if (c != NULL) {
		c->req = NULL;
		if (c->bad == 2)
			c->stage = CL_HELLO;	/* answered as a greeting */
		if (r->audit_error != 0)
			refuse(c, 503, 1, "unavailable", "the audit log has "
			    "stopped: nothing is done that it cannot record");
		else if (c->bad)
			refuse(c, 400, c->t.socks_reply != 0 ? c->t.socks_reply :
			    1, "bad_request", r->d.reason);
		else if (r->d.verdict == VERDICT_APPROVAL) {
			/* What a token must name, as a tool call's refusal
			 * says it. */
			char why[POLICY_REASON_MAX + 2 * AUDIT_HEX_LEN];

			audit_fmt(why, sizeof(why), "%s\nargs_digest: %s",
			    r->d.reason, r->args_digest);
			refuse(c, 403, 2, "approval_required", why);
		} else if (!allowed)
			refuse(c, 403, 2, r->kind != NULL ? r->kind :
			    "egress_denied", r->d.reason);
		else if (E.gw < 0 || ask_gateway(c, r->audit_seq) != 0)
			refuse(c, 503, 1, "unavailable", "the host's gateway is "
			    "gone");
	}
	if (r->audit_error != 0)
		P->stopped = 1;
	r->egress = NULL;
	request_free(r);
}

static int __attribute__((format(printf, 3, 4)))
deny(struct req *r, const char *kind, const char *fmt, ...)
{
	va_list ap;

	r->d.verdict = VERDICT_DENY;
	r->kind = kind;
	va_start(ap, fmt);
	vsnprintf(r->d.reason, sizeof(r->d.reason), fmt, ap);
	va_end(ap);
	return -1;
}

static int
nonce_seen(void *arg, const uint8_t nonce[AUDIT_NONCE_LEN])
{
	return pstate_nonce_seen(arg, nonce);
}

/* A token for op connect with these args: the seven rules, consumed. */
static int
token_check(struct req *r, struct client *c)
{
	struct approval_ctx ctx = { P->cfg.pod, time(NULL), P->cfg.skew,
	    P->cfg.token_lifetime_max, &P->trust, nonce_seen, P->state };
	json_t *tok = json_loadb(c->t.token, c->t.token_len,
	    JSON_REJECT_DUPLICATES, NULL);
	const char *sub = json_string_value(json_object_get(tok, "sub"));
	struct approval a;
	struct audit_err e;
	int which, rc = -1;

	r->d.verdict = VERDICT_DENY;
	r->kind = "invalid_approval";
	if (tok == NULL || sub == NULL || strlen(sub) >= sizeof(r->kid)) {
		audit_fmt(r->d.reason, sizeof(r->d.reason), "the "
		    EGRESS_TOKEN_HEADER " header (or the password of user "
		    EGRESS_TOKEN_USER ") holds no token");
		goto out;
	}
	/* The actor is whom the token was issued to: a command has no
	 * key of its own. */
	memcpy(r->kid, sub, strlen(sub) + 1);
	if (approval_verify(tok, &ctx, "connect", r->args_digest, r->kid, &a,
	    &which, r->d.reason, sizeof(r->d.reason)) != 0)
		goto out;
	if (pstate_nonce_consume(P->state, a.nonce, a.exp, &e) != 0) {
		audit_fmt(r->d.reason, sizeof(r->d.reason), "rule 7: %s",
		    e.msg);
		goto out;
	}
	memcpy(r->approval_id, a.id, sizeof(r->approval_id));
	memcpy(r->approval_nonce, a.nonce_hex, sizeof(r->approval_nonce));
	r->d.verdict = VERDICT_ALLOW;
	r->kind = NULL;
	rc = 0;
out:
	json_decref(tok);
	return rc;
}

/* Steps of the decision: capability, allowlist, approval. */
static int
decide(struct req *r, struct client *c)
{
	struct net_addr a;
	int literal = netspec_literal(c->t.host, &a), need;

	r->d.cap = CAP_WEB_FETCH;
	if (P->cfg.policy.caps.level[CAP_WEB_FETCH] == LEVEL_NEVER)
		return deny(r, "insufficient_capability", "the policy's "
		    "web_fetch is never");
	if (literal) {
		netspec_addr_text(&a, c->name, sizeof(c->name));
		c->rule = netspec_match_addr(E.spec, &a, c->t.port);
	} else if (!netspec_name(c->t.host, strlen(c->t.host), c->name))
		return deny(r, "bad_request", "the target is neither a host "
		    "name nor an address");
	else
		c->rule = netspec_match_name(E.spec, c->name, c->t.port);
	if (c->rule < 0 && literal && netspec_forbidden(&a) != NULL &&
	    netspec_cidr_port(E.spec, c->t.port))
		return deny(r, "forbidden_address", "%s is a %s address, "
		    "which only a cidr entry inside that class's range admits",
		    c->name, netspec_forbidden(&a));
	if (c->rule < 0 && (literal || !netspec_cidr_port(E.spec,
	    c->t.port)))
		return deny(r, "egress_denied", "no entry of the pod's "
		    "network.allow admits %s port %d", c->name, c->t.port);
	need = (c->rule >= 0 && E.spec->rules[c->rule].approval) ||
	    (P->cfg.policy.obligations & CAPSET(CAP_WEB_FETCH)) != 0;
	if (need && c->t.token == NULL) {
		r->d.verdict = VERDICT_APPROVAL;
		audit_fmt(r->d.reason, sizeof(r->d.reason), "a connection to "
		    "%s port %d needs an approval token (op connect, args "
		    "{\"host\", \"port\"}) in the " EGRESS_TOKEN_HEADER
		    " header or as the password of user " EGRESS_TOKEN_USER
		    "%s", c->name, c->t.port, c->t.socks ? ", which SOCKS5 "
		    "cannot carry: use the HTTP proxy" : "");
		return -1;
	}
	if (need && token_check(r, c) != 0)
		return -1;
	r->d.verdict = VERDICT_ALLOW;
	return 0;
}

/* The header is whole: the operation decided and recorded. */
static void
operation(struct client *c, const char *bad)
{
	struct req *r = calloc(1, sizeof(*r));
	struct audit_buf b = { 0 };
	struct audit_err e;
	uint8_t h[AUDIT_HASH_LEN];
	json_t *ev;
	char rule[NET_HOST_MAX + 16];

	if (r == NULL) {
		refuse(c, 503, 1, "unavailable", "out of memory");
		return;
	}
	r->id = json_null();
	r->connection = 1;
	r->egress = c;
	snprintf(r->op, sizeof(r->op), "connect");
	snprintf(r->kid, sizeof(r->kid), "pod");
	c->rule = -1;
	/* The args as the client named them, as a token names them; none
	 * for a request that could not be read. */
	r->req = bad != NULL ? json_object() : json_pack("{s:s, s:i}", "host",
	    c->t.host, "port", c->t.port);
	r->args = r->req;
	if (r->req == NULL || cjson_encode(r->args, &b, &e) != 0) {
		audit_buf_free(&b);
		r->egress = NULL;
		request_free(r);
		refuse(c, 503, 1, "unavailable", "out of memory");
		return;
	}
	audit_hash(h, b.p, b.len);
	audit_hex(r->args_digest, h, AUDIT_HASH_LEN);
	audit_buf_free(&b);
	r->d.cap = CAP_COUNT;
	if (bad != NULL) {
		c->bad = c->stage == CL_HELLO ? 2 : 1;
		(void)deny(r, "bad_request", "%s", bad);
	} else
		(void)decide(r, c);
	ev = record_decision(r);
	if (ev != NULL && bad != NULL)
		json_object_set_new(ev, "bytes", json_integer((json_int_t)
		    c->len));
	else if (ev != NULL) {
		json_object_set_new(ev, "host", json_string(c->t.host));
		json_object_set_new(ev, "port", json_integer(c->t.port));
		json_object_set_new(ev, "protocol", json_string(c->t.socks ?
		    "socks5" : c->t.connect ? "http-connect" : "http"));
		if (c->rule >= 0) {
			netspec_rule_text(&E.spec->rules[c->rule], rule,
			    sizeof(rule));
			json_object_set_new(ev, "rule", json_string(rule));
		}
	}
	c->req = r;
	c->stage = CL_DECIDING;
	client_watch(c, 0);
	r->stage = STAGE_DECIDE;
	if (record_submit_here(r, ev) != 0) {
		c->req = NULL;
		r->egress = NULL;
		request_free(r);
		refuse(c, 503, 1, "unavailable", "the audit record of this "
		    "connection could not be made");
	}
	json_decref(ev);
}

/*
 * A token may also come as the password of Proxy-Authorization's Basic
 * credentials for user EGRESS_TOKEN_USER: the one way a client such as
 * git, which sets no header of its own on a CONNECT, can give one.  The
 * Nucleus-Approval header wins when both are there.
 */
static void
basic_token(struct client *c)
{
	static const char user[] = EGRESS_TOKEN_USER ":";
	size_t n;

	if (c->t.token != NULL || c->t.basic == NULL || c->basic != NULL ||
	    (c->basic = malloc(c->t.basic_len + 1)) == NULL)
		return;
	if (sodium_base642bin((unsigned char *)c->basic, c->t.basic_len,
	    c->t.basic, c->t.basic_len, NULL, &n, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0 || n < sizeof(user) ||
	    memcmp(c->basic, user, sizeof(user) - 1) != 0)
		return;
	c->t.token = c->basic + sizeof(user) - 1;
	c->t.token_len = n - (sizeof(user) - 1);
}

/* What was read so far: is a step's header whole? */
static void
parse(struct client *c)
{
	int rc;

	if (c->stage == CL_HELLO) {
		rc = egress_parse_socks_hello((uint8_t *)c->buf, c->len, &c->t);
		if (rc == EP_BAD) {
			operation(c, c->t.why);
			return;
		}
		if (rc == EP_MORE)
			return;
		send_all(c->fd, "\x05\x00", 2);
		memmove(c->buf, c->buf + c->t.used, c->len - c->t.used);
		c->len -= c->t.used;
		c->stage = CL_HEADER;
	}
	rc = c->t.socks ? egress_parse_socks_request((uint8_t *)c->buf,
	    c->len, &c->t) : egress_parse_http(c->buf, c->len, &c->t);
	if (rc == EP_BAD)
		operation(c, c->t.why);
	else if (rc == EP_OK) {
		basic_token(c);
		operation(c, NULL);
	}
}

static void
client_read(struct client *c)
{
	ssize_t n;

	if (c->len == sizeof(c->buf)) {
		c->t.socks_reply = 1;
		operation(c, "the request's header is longer than "
		    "EGRESS_HEADER_MAX");
		return;
	}
	n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_free(c);
		return;
	}
	/* The first byte says which: 5 is SOCKS5's version. */
	if (!c->sniffed) {
		c->sniffed = 1;
		if (c->buf[0] == 5) {
			c->stage = CL_HELLO;
			c->t.socks = 1;
		}
	}
	c->len += (size_t)n;
	parse(c);
}

/* A client in E.ep can be read: one at a time, for reading may free any
 * client (the loop calls again while E.ep has more). */
static void
clients_read(struct ev_loop *loop, ev_io *w, int revents)
{
	struct epoll_event ev;

	(void)loop;
	(void)revents;
	if (epoll_wait(w->fd, &ev, 1, 0) == 1)
		client_read(ev.data.ptr);
}

static void
client_late(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct client *c = w->data;

	(void)loop;
	(void)revents;
	if (c->stage == CL_HELLO || c->stage == CL_HEADER)
		operation(c, "the request's header did not come within "
		    "EGRESS_HEADER_MS");
}

static void
egress_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	struct client *c;

	(void)revents;
	if (fd < 0)
		return;
	if (E.nclients >= EGRESS_CLIENTS_MAX ||
	    (c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return;
	}
	c->fd = fd;
	c->stage = CL_HEADER;
	c->rule = -1;
	client_watch(c, 1);
	if (!c->reading) {
		close(fd);
		free(c);
		return;
	}
	ev_timer_init(&c->deadline, client_late, EGRESS_HEADER_MS / 1000., 0.);
	c->deadline.data = c;
	ev_timer_start(loop, &c->deadline);
	c->next = E.clients;
	E.clients = c;
	E.nclients++;
}

/*
 * A node that took the pod back started a new gateway and sent its
 * connection with its first word (serve.c takes it only from the node's
 * own connection): asked from now on.  Without a network member, or not
 * a SOCK_SEQPACKET socket, it is closed.
 */
void
egress_gateway_again(int fd)
{
	int type = 0;
	socklen_t len = sizeof(type);

	if (E.spec == NULL || getsockopt(fd, SOL_SOCKET, SO_TYPE, &type,
	    &len) != 0 || type != SOCK_SEQPACKET) {
		close(fd);
		return;
	}
	if (E.gw >= 0)
		gateway_gone();
	E.gw = fd;
	E.hand = 1;	/* the node's: a gateway on this host */
	ev_io_init(&E.gw_io, gateway_read, E.gw, EV_READ);
	ev_io_start(P->loop, &E.gw_io);
}

/*
 * With a network member and the gateway's descriptor: listen on the
 * pod's loopback (before the proxy's own filter, which has no socket).
 */
int
egress_listen(struct netspec *spec, int gw, int hand, struct audit_err *err)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
	    .sin_port = htons(EGRESS_PORT),
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int one = 1;

	if (spec == NULL || gw < 0)
		return 0;
	E.spec = spec;
	E.gw = gw;
	E.hand = hand;
	if ((E.lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) < 0 ||
	    setsockopt(E.lfd, SOL_SOCKET, SO_REUSEADDR, &one,
	    sizeof(one)) != 0 ||
	    bind(E.lfd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    listen(E.lfd, 64) != 0)
		return audit_errf(err, "the egress listener on 127.0.0.1:%d: "
		    "%s", EGRESS_PORT, strerror(errno));
	if ((E.ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		return audit_errf(err, "the egress clients' epoll set: %s",
		    strerror(errno));
	ev_io_init(&E.epio, clients_read, E.ep, EV_READ);
	ev_io_start(P->loop, &E.epio);
	ev_io_init(&E.lio, egress_accept, E.lfd, EV_READ);
	ev_io_start(P->loop, &E.lio);
	ev_io_init(&E.gw_io, gateway_read, E.gw, EV_READ);
	ev_io_start(P->loop, &E.gw_io);
	return 0;
}
