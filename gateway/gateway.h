/*
 * nucleus-gateway: a pod's way out, on the host.  See nucleus-gateway(8).
 */
#ifndef NUCLEUS_GATEWAY_H
#define NUCLEUS_GATEWAY_H

#include <stdint.h>

#include <ev.h>
#include <jansson.h>

#include "audit.h"
#include "fdmsg.h"
#include "netspec.h"
#include "relay.h"

#define GATEWAY_MSG_MAX		4096	/* bytes of a request or answer (a
					   token fits) */
#define GATEWAY_NONCES_MAX	4096	/* tokens spent on this gateway */
#define GATEWAY_SKEW_S		60	/* a token's iat, as the proxy's */
#define GATEWAY_TOKEN_LIFE_S	300	/* a token's longest life, idem */
#define GATEWAY_CONNECT_MS	10000	/* connect(2) to the remote */
#define GATEWAY_ADDRS_MAX	16	/* addresses of a name looked at */
#define GATEWAY_HOSTS_MAX	(1 << 20)	/* bytes of -H's hosts file */
#define GATEWAY_RESOLVERS	4	/* threads resolving names (no -H) */
#define GATEWAY_LOOKUPS_MAX	64	/* lookups waiting or under way */
#define GATEWAY_RESOLVE_MS	5000	/* a lookup's answer, at most */
#define GATEWAY_RATE_MS		60000	/* connections_per_minute's window */
#define GATEWAY_REFUSALS_MAX	600	/* refusals recorded one by one in
					   any GATEWAY_RATE_MS; past it
					   answered, and counted in the
					   next one recorded ("unrecorded"),
					   so that a hostile proxy asking
					   without end cannot fill the
					   node's log */
#define GATEWAY_CLIENTS_MAX	8	/* proxies connected at once (the
					   pod's own and any other on
					   its socket) */
#define GATEWAY_ANSWERS_MAX	64	/* answers one asker has not taken
					   that its socket could not hold:
					   kept, its requests not read
					   until it takes them */

struct gw_conn;
struct lookup;

/* One connection asked for, from its request to its close record. */
struct gw_stream {
	struct gw_stream *next;
	struct gw_conn *conn;	/* NULL once the asker is gone */
	json_t	*id;
	char	 host[NET_HOST_MAX + 1];
	int	 port;
	struct net_addr addr;
	char	 addr_text[64];
	char	 rule[NET_HOST_MAX + 16];
	int	 byname;	/* the host rule admitting the name, or -1 */
	json_t	*token;		/* an approval token, as asked */
	json_t	*approval;	/* its id, nonce and exp, once checked */
	char	*named;		/* the host as the client named it */
	struct lookup *lookup;	/* resolving: its lookup */
	int	 fd;		/* the remote socket */
	int	 client;	/* the client's, handed over; or -1 */
	const char *reply;	/* what the client is told once connected */
	size_t	 reply_len;
	ev_io	 cio;		/* its connect */
	ev_timer cto;		/* its lookup's, then its connect's */
	uint64_t seq;		/* the open record's, awaited */
	int64_t	 decision;	/* the proxy's decision's seq, or -1 */
	int64_t	 opened_ms;
	int	 relaying;
	struct relay relay;
};

struct gw_conn {
	struct gw_conn *next;
	int	 fd;		/* SOCK_SEQPACKET */
	ev_io	 rio, wio;
	struct fdmsg_q held;	/* answers its socket could not take yet */
};

struct gateway {
	struct ev_loop *loop;
	char	 pod[64];
	struct netspec spec;
	int	 audit_fd;	/* to the node: SOCK_SEQPACKET */
	ev_io	 audit_io;
	uint64_t next_seq;
	int	 listen_fd;
	ev_io	 listen_io;
	struct gw_conn *conns;
	int	 nconns;
	struct gw_stream *streams;	/* open or opening */
	int	 open;		/* counted against max_connections */
	int64_t	*opened;	/* when the last connections_per_minute
				   were opened (ms, a ring) */
	int	 nopened, opened_next;
	int64_t	 refused[GATEWAY_REFUSALS_MAX];	/* when the last refusals
						   were recorded (a ring) */
	int	 nrefused, refused_next;
	long long unrecorded;	/* refusals answered, not recorded since */
	int64_t	 budget;	/* bytes max_bytes still allows */
	char	*hosts;		/* -H: the hosts file's text, or NULL */
	char	*etc_hosts;	/* without -H: /etc/hosts's, or NULL */
	struct audit_keyring trust;	/* -T: the authority keys */
	int	 every_approval;	/* -A: every connection needs a token
					   (the policy's obligations) */
	uint8_t	(*nonces)[AUDIT_NONCE_LEN];	/* tokens spent here */
	int	 nnonces;
};

extern struct gateway *G;

/* token.c: an approval entry's token, checked here too */
int	 gw_token(const json_t *, const char *, int, json_t **, char *,
	    size_t);

/* conn.c */
void	 gw_accept(struct ev_loop *, ev_io *, int);
void	 gw_add_conn(int);
void	 gw_audit_read(struct ev_loop *, ev_io *, int);

/* resolve.c: the resolver threads (none with -H), before the filter */
int	 gw_resolver_start(void);
/* name's addresses, up to GATEWAY_ADDRS_MAX, to done(arg, addrs, n): at
 * once with -H or from /etc/hosts (NULL), else later (the lookup, to
 * cancel while it has not answered); NULL and *refused with
 * GATEWAY_LOOKUPS_MAX under way.  With files_only (a name no host entry
 * admits), from the hosts files alone: no DNS query carries it. */
struct lookup *gw_resolve(const char *, int, void (*)(void *,
	    const struct net_addr *, int), void *, int *);
void	 gw_resolve_cancel(struct lookup *);

#endif /* NUCLEUS_GATEWAY_H */
