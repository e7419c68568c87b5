/*
 * fc-egress: a test helper.  The node's side of a Firecracker pod's
 * egress streams (fcegress.c), alone: it listens on LISTEN-PATH as the
 * node listens on <vm>/fc.sock_<port>, and asks the gateway behind
 * GATEWAY-SOCKET (a local pod's egress.sock, SOCK_SEQPACKET), as the
 * node asks a pod's gateway.  A test plays Firecracker's side: each
 * connection to LISTEN-PATH is one the guest made.  Each record the node
 * would make is written on standard output, one line of JSON.  Runs
 * until killed.  Not installed.
 *
 *	fc-egress GATEWAY-SOCKET LISTEN-PATH POD
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <ev.h>

#include "node.h"

static void
record(json_t *rec, void *arg)
{
	char *t = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);

	(void)arg;
	if (t != NULL)
		printf("%s\n", t);
	fflush(stdout);
	free(t);
	json_decref(rec);
}

int
main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ev_loop *loop = ev_default_loop(0);
	struct audit_err e;
	int gw;

	if (argc != 4 || strlen(argv[1]) >= sizeof(sa.sun_path))
		errx(2, "usage: fc-egress gateway-socket listen-path pod");
	memcpy(sa.sun_path, argv[1], strlen(argv[1]));
	if ((gw = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(gw, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		err(2, "%s", argv[1]);
	if (fcegress_start(loop, argv[2], gw, argv[3], record, NULL, &e) ==
	    NULL)
		errx(2, "%s", e.msg);
	signal(SIGPIPE, SIG_IGN);
	ev_run(loop, 0);
	return 0;
}
