/*
 * nucleus-authority: the approval authority, and the commands operators
 * and agents use with it.  See nucleus-authority(8).
 *
 * serve is the list of steps: options (options.c); the directory, the
 * key (kept in sodium_malloc memory), the agents' keyring and the rules,
 * and whether they agree; the state, the audit log and any records a
 * crash left out; the loop's watchers; the sockets; the start record;
 * the process's own seccomp allowlist (confine.c); the event loop; and
 * the stop (serve.c has each step).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include <systemd/sd-daemon.h>

#include "authority.h"
#include "confine.h"
#include "usage.h"

struct authority *A;
static struct authority authority;

/* The records an operator sees on stderr as they are made (events.c),
 * and those counted: refusals, a summary now and then. */
static const char *const said[] = { "authority.start", "authority.stop",
    "approval.request", "approval.grant", "approval.deny",
    "approval.expire", NULL };
static const char *const counted[] = { "approval.refused",
    "admin.refused", NULL };

static int
serve(int argc, char **argv)
{
	struct authority *a = A = &authority;
	struct serve_opts o;
	struct audit_err e;

	events_init(&a->events, "nucleus-authority", said, counted);
	rwin_init(&a->refusals, agent_refusals_record, NULL);
	serve_options(a, &o, argc, argv);
	serve_load(a, &o);
	serve_check(a, &o);
	if (serve_open(a, &o, &e) != 0)
		goto fail;
	serve_watch(a);
	if (serve_listen(a, &o, &e) != 0 || serve_record_start(a, &e) != 0)
		goto fail;
	/* Ready: the sockets listen.  Said before the allowlist, which
	 * has no socket() for it (systemd, Type=notify). */
	(void)sd_notify(0, "READY=1");
	if (confine_self(a->landlock, &e) != 0) {
		fprintf(stderr, "nucleus-authority: %s: refusing to run "
		    "without it\n", e.msg);
		return EXIT_ERR;
	}
	fprintf(stderr, "nucleus-authority: serving %s and %s\n", o.reqsock,
	    o.adminsock);
	ev_run(a->loop, 0);
	serve_stop(a);
	return 0;
fail:
	fprintf(stderr, "nucleus-authority: %s\n", e.msg);
	return EXIT_ERR;
}

int
main(int argc, char **argv)
{
	const char *cmd;

	if (sodium_init() < 0) {
		fprintf(stderr, "nucleus-authority: libsodium cannot start\n");
		return EXIT_ERR;
	}
	usage_std(argc, argv, "nucleus-authority", authority_usage_text);
	if (argc < 2)
		authority_usage();
	cmd = argv[1];
	argc--;
	argv++;
	usage_std(argc, argv, "nucleus-authority", authority_usage_text);
	usage_command(argv, "nucleus-authority");
	if (strcmp(cmd, "serve") == 0)
		return serve(argc, argv);
	if (strcmp(cmd, "keygen") == 0)
		return cmd_keygen(argc, argv);
	if (strcmp(cmd, "ask") == 0)
		return cmd_ask(argc, argv);
	if (strcmp(cmd, "status") == 0)
		return cmd_status(argc, argv);
	if (strcmp(cmd, "list") == 0 || strcmp(cmd, "show") == 0 ||
	    strcmp(cmd, "grant") == 0 || strcmp(cmd, "deny") == 0 ||
	    strcmp(cmd, "watch") == 0)
		return cmd_admin(cmd, argc, argv);
	usage_unknown("nucleus-authority", cmd, authority_usage_text);
}
