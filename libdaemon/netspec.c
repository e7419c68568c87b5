/*
 * The "network" member of a pod spec (netspec.h):
 *
 *	{"allow": [{"host": "github.com", "ports": [443]},
 *	           {"host": "*.registry.example.org", "ports": [443]},
 *	           {"cidr": "203.0.113.0/24", "ports": [5432]},
 *	           {"host": "push.example.org", "ports": [443],
 *	            "approval": true}],
 *	 "max_connections": 32, "connections_per_minute": 600,
 *	 "max_bytes": 1073741824, "idle_s": 300}
 *
 * Every error names the member it is about.  Names are ASCII letters,
 * digits and hyphens in dot-separated labels (IDNA names in their
 * "xn--" form); no trailing dot; compared lower case.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netspec.h"
#include "members.h"

static const char *const network_members[] = {
	"allow", "max_connections", "connections_per_minute", "max_bytes",
	"idle_s", NULL
};

static const char *const rule_members[] = {
	"host", "cidr", "ports", "approval", NULL
};

/* A name of labels: 1 with its lower-case form in out. */
static int
labels(const char *s, size_t n, char *out)
{
	size_t label = 0;

	if (n == 0 || n > NET_HOST_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '.') {
			if (label == 0 || s[i - 1] == '-')
				return 0;
			label = 0;
		} else if (isalnum(ch) || (ch == '-' && label > 0)) {
			if (++label > NET_LABEL_MAX)
				return 0;
		} else
			return 0;
		out[i] = (char)tolower(ch);
	}
	if (label == 0 || s[n - 1] == '-')
		return 0;
	out[n] = '\0';
	/* The last label all digits: an address in another spelling
	 * ("127.1", "2130706433"), which a resolver would take as one
	 * (inet_aton(3)); never a name (RFC 3696 2). */
	if (strspn(out + n - label, "0123456789") == label)
		return 0;
	return 1;
}

int
netspec_name(const char *s, size_t n, char *out)
{
	if (n > 0 && s[n - 1] == '.')
		n--;
	if (memchr(s, '\0', n) != NULL)
		return 0;
	/* An address is no name: only cidr entries speak of addresses,
	 * in whatever spelling a resolver would read one ("0x7f000001",
	 * "0177.0.0.1", "127.1"). */
	{
		char tmp[NET_HOST_MAX + 1];
		struct net_addr a;
		struct in_addr in;

		if (n <= NET_HOST_MAX) {
			memcpy(tmp, s, n);
			tmp[n] = '\0';
			if (netspec_literal(tmp, &a) || inet_aton(tmp, &in))
				return 0;
		}
	}
	return labels(s, n, out);
}

int
netspec_literal(const char *s, struct net_addr *a)
{
	char tmp[64];
	size_t n = strlen(s);

	memset(a, 0, sizeof(*a));
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		if (n - 2 >= sizeof(tmp))
			return 0;
		memcpy(tmp, s + 1, n - 2);
		tmp[n - 2] = '\0';
		if (inet_pton(AF_INET6, tmp, a->a) != 1)
			return 0;
		a->family = AF_INET6;
		return 1;
	}
	if (inet_pton(AF_INET, s, a->a) == 1) {
		a->family = AF_INET;
		return 1;
	}
	if (inet_pton(AF_INET6, s, a->a) == 1) {
		a->family = AF_INET6;
		return 1;
	}
	return 0;
}

static int
cidr(struct net_rule *r, const char *s)
{
	char tmp[64];
	const char *slash = strchr(s, '/');
	char *end;
	long p;
	int bits;
	size_t n;

	if (slash == NULL || (n = (size_t)(slash - s)) >= sizeof(tmp) ||
	    slash[1] == '\0' || !isdigit((unsigned char)slash[1]))
		return 0;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (inet_pton(AF_INET, tmp, r->addr) == 1) {
		r->family = AF_INET;
		bits = 32;
	} else if (inet_pton(AF_INET6, tmp, r->addr) == 1) {
		r->family = AF_INET6;
		bits = 128;
	} else
		return 0;
	p = strtol(slash + 1, &end, 10);
	if (*end != '\0' || p < 0 || p > bits || (slash[1] == '0' &&
	    slash[2] != '\0'))
		return 0;
	r->prefix = (int)p;
	/* Host bits set: a typo, refused rather than guessed at. */
	for (int i = r->prefix; i < bits; i++)
		if (r->addr[i / 8] & (0x80 >> (i % 8)))
			return 0;
	return 1;
}

static int
ports(struct net_rule *r, const json_t *v, const char *where,
    struct audit_err *err)
{
	size_t i;
	json_t *p;

	if (!json_is_array(v) || json_array_size(v) < 1 ||
	    json_array_size(v) > NET_PORTS_MAX)
		return audit_errf(err, "%s.ports: expected 1 to %d ports",
		    where, NET_PORTS_MAX);
	json_array_foreach(v, i, p) {
		if (!json_is_integer(p) || json_integer_value(p) < 1 ||
		    json_integer_value(p) > 65535)
			return audit_errf(err, "%s.ports[%zu]: expected a port "
			    "from 1 to 65535", where, i);
		r->ports[r->nports++] = (uint16_t)json_integer_value(p);
	}
	return 0;
}

static int
rule(struct net_rule *r, const json_t *e, const char *where,
    struct audit_err *err)
{
	const json_t *h = json_object_get(e, "host");
	const json_t *c = json_object_get(e, "cidr");
	const json_t *a = json_object_get(e, "approval");
	const char *k;

	if (!json_is_object(e))
		return audit_errf(err, "%s: expected an object", where);
	if ((k = members_unknown(e, rule_members)) != NULL)
		return audit_errf(err, "%s: unknown member \"%.64s\"", where, k);
	if ((h == NULL) == (c == NULL))
		return audit_errf(err, "%s: expected one of \"host\" and "
		    "\"cidr\"", where);
	if (h != NULL) {
		const char *s = json_string_value(h);
		size_t n = s != NULL ? json_string_length(h) : 0;

		if (s != NULL && n > 2 && s[0] == '*' && s[1] == '.') {
			r->wildcard = 1;
			s += 2;
			n -= 2;
		}
		if (s == NULL || strlen(s) != n || (n > 0 && s[n - 1] == '.') ||
		    !netspec_name(s, n, r->host))
			return audit_errf(err, "%s.host: expected a host name "
			    "or \"*.\" and one, of letters, digits, hyphens and "
			    "dots, %d bytes at most", where, NET_HOST_MAX);
	} else if (!json_is_string(c) || strlen(json_string_value(c)) !=
	    json_string_length(c) || !cidr(r, json_string_value(c)))
		return audit_errf(err, "%s.cidr: expected an address and "
		    "prefix length, its host bits zero (\"10.0.0.0/8\")",
		    where);
	r->cidr = c != NULL;
	if (json_object_get(e, "ports") == NULL)
		return audit_errf(err, "%s.ports: missing (every entry names "
		    "its ports)", where);
	if (ports(r, json_object_get(e, "ports"), where, err) != 0)
		return -1;
	if (a != NULL && !json_is_boolean(a))
		return audit_errf(err, "%s.approval: expected true or false",
		    where);
	r->approval = json_is_true(a);
	return 0;
}

/* An integer member from lo to hi, def when absent. */
static int
bounded(const json_t *v, const char *name, long long lo, long long hi,
    long long def, long long *out, struct audit_err *err)
{
	const json_t *m = json_object_get(v, name);

	*out = def;
	if (m == NULL)
		return 0;
	if (!json_is_integer(m) || json_integer_value(m) < lo ||
	    json_integer_value(m) > hi)
		return audit_errf(err, "network.%s: expected %lld to %lld",
		    name, lo, hi);
	*out = json_integer_value(m);
	return 0;
}

int
netspec_parse(struct netspec *ns, const json_t *v, struct audit_err *err)
{
	const json_t *allow, *e;
	long long n, r, i_s;
	const char *k;
	char where[48];
	size_t i;

	memset(ns, 0, sizeof(*ns));
	if (!json_is_object(v))
		return audit_errf(err, "network: expected an object");
	if ((k = members_unknown(v, network_members)) != NULL)
		return audit_errf(err, "network: unknown member \"%.64s\"", k);
	allow = json_object_get(v, "allow");
	if (!json_is_array(allow) || json_array_size(allow) > NET_ALLOW_MAX)
		return audit_errf(err, "network.allow: expected an array of at "
		    "most %d entries", NET_ALLOW_MAX);
	json_array_foreach(allow, i, e) {
		snprintf(where, sizeof(where), "network.allow[%zu]", i);
		if (rule(&ns->rules[i], e, where, err) != 0)
			return -1;
		ns->nrules++;
	}
	if (bounded(v, "max_connections", 1, NET_CONNECTIONS_MAX,
	    NET_CONNECTIONS_DEFAULT, &n, err) != 0 ||
	    bounded(v, "connections_per_minute", 1, NET_RATE_MAX,
	    NET_RATE_DEFAULT, &r, err) != 0 ||
	    bounded(v, "max_bytes", 1, NET_BYTES_MAX, NET_BYTES_DEFAULT,
	    &ns->max_bytes, err) != 0 ||
	    bounded(v, "idle_s", 1, NET_IDLE_MAX, NET_IDLE_DEFAULT, &i_s,
	    err) != 0)
		return -1;
	ns->max_connections = (int)n;
	ns->per_minute = (int)r;
	ns->idle_s = (int)i_s;
	return 0;
}

static int
has_port(const struct net_rule *r, int port)
{
	for (int i = 0; i < r->nports; i++)
		if (r->ports[i] == port)
			return 1;
	return 0;
}

static int
name_matches(const struct net_rule *r, const char *name)
{
	size_t n = strlen(name), h = strlen(r->host);

	if (!r->wildcard)
		return strcmp(name, r->host) == 0;
	/* "*.": one or more whole labels before the pattern's name. */
	return n > h + 1 && name[n - h - 1] == '.' &&
	    strcmp(name + n - h, r->host) == 0;
}

static int
addr_matches(const struct net_rule *r, const struct net_addr *a)
{
	if (r->family != a->family)
		return 0;
	for (int i = 0; i < r->prefix; i++)
		if ((r->addr[i / 8] ^ a->a[i / 8]) & (0x80 >> (i % 8)))
			return 0;
	return 1;
}

/*
 * The entry that decides for name (host entries) or a (cidr entries) on
 * port: of those admitting it, the most specific (the name itself before
 * any "*." pattern, a longer pattern or prefix before a shorter), and of
 * equally specific ones, one asking for approval; so that
 * {"host": "push.example.org", "approval": true} beside
 * "*.example.org" still asks a token for push.example.org.  An address
 * of a refused class only by a cidr entry inside that class's range
 * (netspec_forbidden_range).
 */
static int
first(const struct netspec *ns, int cidr_rules, const char *name,
    const struct net_addr *a, int port)
{
	int need = 0, best = -1, best_score = -1;

	if (cidr_rules && netspec_forbidden_range(a, &need) == NULL)
		need = 0;
	for (int i = 0; i < ns->nrules; i++) {
		const struct net_rule *r = &ns->rules[i];
		int score;

		if (r->cidr != cidr_rules || !has_port(r, port) ||
		    (cidr_rules && r->prefix < need))
			continue;
		if (cidr_rules ? !addr_matches(r, a) : !name_matches(r, name))
			continue;
		score = 2 * (cidr_rules ? r->prefix : r->wildcard ?
		    (int)strlen(r->host) : NET_HOST_MAX + 1) + r->approval;
		if (score > best_score) {
			best = i;
			best_score = score;
		}
	}
	return best;
}

int
netspec_match_name(const struct netspec *ns, const char *name, int port)
{
	return first(ns, 0, name, NULL, port);
}

int
netspec_match_addr(const struct netspec *ns, const struct net_addr *a,
    int port)
{
	return first(ns, 1, NULL, a, port);
}

int
netspec_cidr_port(const struct netspec *ns, int port)
{
	for (int i = 0; i < ns->nrules; i++)
		if (ns->rules[i].cidr && has_port(&ns->rules[i], port))
			return 1;
	return 0;
}

/*
 * The refused classes of IPv4, each with the range it spans: a cidr
 * entry admits an address of one only when the entry lies inside that
 * range (its prefix at least the range's), so that "0.0.0.0/0" for any
 * public address never names the metadata service or loopback.
 * Broadcast before the reserved 240.0.0.0/4 that holds it.
 */
static const struct {
	uint32_t net;
	int	 prefix;
	const char *class;
} refused4[] = {
	{ 0x7f000000, 8, "loopback" },
	{ 0xa9fe0000, 16, "link-local" },
	{ 0x0a000000, 8, "private" },
	{ 0xac100000, 12, "private" },
	{ 0xc0a80000, 16, "private" },
	{ 0x64400000, 10, "shared" },
	{ 0xe0000000, 4, "multicast" },
	{ 0x00000000, 8, "unspecified" },
	{ 0xffffffff, 32, "broadcast" },
	{ 0xf0000000, 4, "reserved" },
};

static const char *
class4(const uint8_t *a, int *prefix)
{
	uint32_t v = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 |
	    (uint32_t)a[2] << 8 | a[3];

	for (size_t i = 0; i < sizeof(refused4) / sizeof(refused4[0]); i++) {
		int p = refused4[i].prefix;
		uint32_t mask = p == 0 ? 0 : 0xffffffffu << (32 - p);

		if ((v & mask) == refused4[i].net) {
			*prefix = p;
			return refused4[i].class;
		}
	}
	return NULL;
}

/* An IPv4 address embedded at bit offset `at` of an IPv6 one: its
 * class, the range counted in the IPv6 address's bits. */
static const char *
embedded(const uint8_t *v4, int at, int *prefix)
{
	const char *why = class4(v4, prefix);

	*prefix += at;
	return why;
}

const char *
netspec_forbidden_range(const struct net_addr *na, int *prefix)
{
	static const uint8_t zero[16], mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0, 0xff, 0xff }, nat64[12] = { 0, 0x64, 0xff, 0x9b },
	    nat64_local[6] = { 0, 0x64, 0xff, 0x9b, 0, 1 };
	const uint8_t *a = na->a;
	const char *why;
	int p = 0;

	if (prefix == NULL)
		prefix = &p;
	if (na->family == AF_INET)
		return class4(a, prefix);
	/* IPv6 forms that carry an IPv4 address: its class is theirs. */
	if (memcmp(a, mapped, 12) == 0) {
		if ((why = embedded(a + 12, 96, prefix)) != NULL)
			return why;
		*prefix = 96;
		return "ipv4-mapped";
	}
	if (memcmp(a, zero, 12) == 0) {
		*prefix = 128;
		if (memcmp(a, zero, 15) == 0 && a[15] <= 1)
			return a[15] == 1 ? "loopback" : "unspecified";
		if ((why = embedded(a + 12, 96, prefix)) != NULL)
			return why;
		*prefix = 96;
		return "ipv4-compatible";
	}
	/* NAT64 (RFC 6052): the well-known prefix carries the address it
	 * reaches; the local-use one (RFC 8215) is a network's own. */
	if (memcmp(a, nat64, 12) == 0)
		return embedded(a + 12, 96, prefix);
	if (memcmp(a, nat64_local, 6) == 0) {
		*prefix = 48;
		return "private";
	}
	/* 6to4 (RFC 3056): 2002:V4ADDR::/48. */
	if (a[0] == 0x20 && a[1] == 0x02)
		return embedded(a + 2, 16, prefix);
	/* Teredo (RFC 4380): the server's address, and the client's
	 * inverted; either refused, the whole address must be named. */
	if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0 && a[3] == 0) {
		uint8_t client[4] = { (uint8_t)~a[12], (uint8_t)~a[13],
		    (uint8_t)~a[14], (uint8_t)~a[15] };

		if ((why = class4(a + 4, prefix)) != NULL ||
		    (why = class4(client, prefix)) != NULL) {
			*prefix = 128;
			return why;
		}
		return NULL;
	}
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) {
		*prefix = 10;
		return "link-local";
	}
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0) {
		*prefix = 10;	/* site-local, deprecated: a network's own */
		return "private";
	}
	if ((a[0] & 0xfe) == 0xfc) {
		*prefix = 7;
		return "private";
	}
	if (a[0] == 0xff) {
		*prefix = 8;
		return "multicast";
	}
	return NULL;
}

const char *
netspec_forbidden(const struct net_addr *na)
{
	return netspec_forbidden_range(na, NULL);
}

void
netspec_addr_text(const struct net_addr *a, char *out, size_t sz)
{
	if (inet_ntop(a->family, a->a, out, (socklen_t)sz) == NULL &&
	    sz > 0)
		out[0] = '\0';
}

void
netspec_rule_text(const struct net_rule *r, char *out, size_t sz)
{
	char a[INET6_ADDRSTRLEN];

	if (r->cidr) {
		struct net_addr na = { .family = r->family };

		memcpy(na.a, r->addr, sizeof(na.a));
		netspec_addr_text(&na, a, sizeof(a));
		snprintf(out, sz, "%s/%d", a, r->prefix);
	} else
		snprintf(out, sz, "%s%s", r->wildcard ? "*." : "", r->host);
}
