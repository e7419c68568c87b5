/*
 * A pod's egress allowlist, the pod spec's "network" member
 * (nucleus-pod(5)): parsed and checked alike by the node (at pod.create),
 * the proxy (each connection it is asked for) and the gateway (each
 * connection it makes).  One parser, never drifting copies.
 */
#ifndef NUCLEUS_NETSPEC_H
#define NUCLEUS_NETSPEC_H

#include <stdint.h>
#include <sys/socket.h>

#include <jansson.h>

#include "audit.h"

#define NET_ALLOW_MAX	64	/* entries of network.allow */
#define NET_PORTS_MAX	16	/* ports of one entry */
#define NET_HOST_MAX	253	/* bytes of a host name or pattern */
#define NET_LABEL_MAX	63	/* bytes of one label */
#define NET_CONNECTIONS_MAX 1024	/* the largest max_connections */
#define NET_CONNECTIONS_DEFAULT 32	/* max_connections when absent */
#define NET_RATE_MAX	6000	/* the largest connections_per_minute */
#define NET_RATE_DEFAULT 600	/* connections_per_minute when absent */
#define NET_BYTES_MAX	(1LL << 40)	/* the largest max_bytes (1 TiB) */
#define NET_BYTES_DEFAULT (1LL << 30)	/* max_bytes when absent (1 GiB) */
#define NET_IDLE_MAX	300	/* the largest idle_s (RELAY_IDLE_S) */
#define NET_IDLE_DEFAULT 300	/* idle_s when absent */

struct net_rule {
	int	 cidr;		/* a cidr entry, else a host pattern */
	char	 host[NET_HOST_MAX + 1];	/* lower case, without "*." */
	int	 wildcard;	/* "*.": one or more leading labels */
	int	 family;	/* cidr: AF_INET or AF_INET6 */
	uint8_t	 addr[16];	/* cidr: the network, host bits zero */
	int	 prefix;
	uint16_t ports[NET_PORTS_MAX];
	int	 nports;
	int	 approval;
};

struct netspec {
	struct net_rule rules[NET_ALLOW_MAX];
	int	 nrules;
	int	 max_connections;
	int	 per_minute;	/* connections_per_minute: opened in any
				   60 s */
	long long max_bytes;	/* both ways, all its connections, summed */
	int	 idle_s;	/* a connection carrying nothing, closed */
};

/* An address, as the gateway resolved or the client gave it. */
struct net_addr {
	int	 family;	/* AF_INET or AF_INET6 */
	uint8_t	 a[16];
};

int	 netspec_parse(struct netspec *, const json_t *, struct audit_err *);
/* A host as a client names it: 1 and *out lower case without its one
 * trailing dot when it is a name this allowlist can speak of. */
int	 netspec_name(const char *, size_t, char *);
/* An address literal ("198.18.0.1", "::1", "[::1]"): 1 and *a. */
int	 netspec_literal(const char *, struct net_addr *);
/* The host rule deciding for name:port, else -1: the most specific that
 * admits it (the name before a "*." pattern, a longer pattern before a
 * shorter), of equals one asking for approval. */
int	 netspec_match_name(const struct netspec *, const char *, int);
/* The cidr rule deciding for addr:port, else -1: the longest prefix
 * (idem); an address of a refused class only by an entry inside that
 * class's range. */
int	 netspec_match_addr(const struct netspec *, const struct net_addr *,
	    int);
/* Whether some cidr rule names port: a name may still reach it. */
int	 netspec_cidr_port(const struct netspec *, int);
/* The refused class an address falls in ("loopback", ...), or NULL;
 * IPv6 forms carrying an IPv4 address (mapped, compatible, NAT64, 6to4,
 * Teredo) take its class. */
const char *netspec_forbidden(const struct net_addr *);
/* The same, and in *prefix the length of that class's range in the
 * address's bits: a cidr entry admits the address only with a prefix at
 * least that long (netspec_match_addr). */
const char *netspec_forbidden_range(const struct net_addr *, int *);
/* addr as text, for records. */
void	 netspec_addr_text(const struct net_addr *, char *, size_t);
/* The rule as text, for records: "github.com:443" or "10.0.0.0/8". */
void	 netspec_rule_text(const struct net_rule *, char *, size_t);

#endif /* NUCLEUS_NETSPEC_H */
