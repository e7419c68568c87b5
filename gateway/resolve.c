/*
 * Names, resolved on the host, never in the pod.  With -H, from that
 * hosts file alone (the tests', so that they never need DNS): lines of
 * an address and its names, '#' to the end of a line a comment.  Without
 * it, getaddrinfo(3), as the host resolves.
 */
#define _GNU_SOURCE
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "gateway.h"

static int
from_hosts(const char *name, struct net_addr *out, int max)
{
	const char *p = G->hosts;
	int n = 0;

	while (*p != '\0' && n < max) {
		size_t len = strcspn(p, "\n");
		char line[1024], *save = NULL, *tok, *addr;
		struct net_addr a;

		if (len < sizeof(line)) {
			memcpy(line, p, len);
			line[len] = '\0';
			line[strcspn(line, "#")] = '\0';
			addr = strtok_r(line, " \t\r", &save);
			if (addr != NULL && netspec_literal(addr, &a))
				while ((tok = strtok_r(NULL, " \t\r",
				    &save)) != NULL)
					if (strcasecmp(tok, name) == 0 &&
					    n < max) {
						out[n++] = a;
						break;
					}
		}
		p += len;
		if (*p == '\n')
			p++;
	}
	return n;
}

static int
from_system(const char *name, struct net_addr *out, int max)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM };
	struct addrinfo *res, *ai;
	int n = 0;

	if (getaddrinfo(name, NULL, &hints, &res) != 0)
		return 0;
	for (ai = res; ai != NULL && n < max; ai = ai->ai_next) {
		if (ai->ai_family == AF_INET) {
			out[n].family = AF_INET;
			memcpy(out[n].a, &((struct sockaddr_in *)(void *)
			    ai->ai_addr)->sin_addr, 4);
			n++;
		} else if (ai->ai_family == AF_INET6) {
			out[n].family = AF_INET6;
			memcpy(out[n].a, &((struct sockaddr_in6 *)(void *)
			    ai->ai_addr)->sin6_addr, 16);
			n++;
		}
	}
	freeaddrinfo(res);
	return n;
}

int
gw_resolve(const char *name, struct net_addr *out, int max)
{
	memset(out, 0, sizeof(*out) * (size_t)max);
	return G->hosts != NULL ? from_hosts(name, out, max) :
	    from_system(name, out, max);
}
