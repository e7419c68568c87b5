/*
 * libFuzzer target: a pod spec's network member (libdaemon/netspec.c),
 * and the matching of names and addresses against it.  Nothing may
 * crash or leak; a refusal says why; an accepted allowlist is within its
 * bounds, each entry has its ports, and a name it admits is one
 * netspec_name accepts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "netspec.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct netspec ns;
	struct audit_err e;
	struct net_addr a;
	char name[NET_HOST_MAX + 1];
	json_t *o;

	/* The input as a name and as an address, against nothing. */
	if (size <= NET_HOST_MAX + 2) {
		char s[NET_HOST_MAX + 3];

		memcpy(s, data, size);
		s[size] = '\0';
		if (netspec_name(s, size, name) && strlen(name) > NET_HOST_MAX)
			abort();
		if (netspec_literal(s, &a))
			(void)netspec_forbidden(&a);
	}
	if ((o = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES,
	    NULL)) == NULL)
		return 0;
	e.msg[0] = '\0';
	if (netspec_parse(&ns, o, &e) != 0) {
		if (e.msg[0] == '\0')
			abort();
		json_decref(o);
		return 0;
	}
	if (ns.nrules > NET_ALLOW_MAX || ns.max_connections < 1 ||
	    ns.max_connections > NET_CONNECTIONS_MAX)
		abort();
	for (int i = 0; i < ns.nrules; i++) {
		const struct net_rule *r = &ns.rules[i];

		if (r->nports < 1 || r->nports > NET_PORTS_MAX)
			abort();
		if (!r->cidr && netspec_match_name(&ns, r->host,
		    r->ports[0]) < 0 && !r->wildcard)
			abort();	/* an entry admits its own name */
		if (r->cidr) {
			int need = 0;

			memset(&a, 0, sizeof(a));
			a.family = r->family;
			memcpy(a.a, r->addr, sizeof(a.a));
			/* and its own network, unless that is of a refused
			 * class whose range is narrower than the entry */
			if (netspec_match_addr(&ns, &a, r->ports[0]) < 0 &&
			    (netspec_forbidden_range(&a, &need) == NULL ||
			    r->prefix >= need))
				abort();
		}
	}
	json_decref(o);
	return 0;
}
