/*
 * nucleus-node: the control plane's daemon (serve), its key (keygen), the
 * client commands (pod, call, approve: client.c) and the host's checks
 * (doctor).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "keygen.h"
#include "serve.h"
#include "nonces.h"
#include "statedb.h"
#include "usage.h"

#define EXIT_ERR	2

static const char usage_text[] =
	    "usage: nucleus-node serve [-n] [-B path] [-d dir] [-k keyfile] "
	    "[-K keyring] [-T trust] [-l socket] [-g group] [-P proxy] "
	    "[-W workroot] [-D seconds] [-w seconds] [-i seconds] "
	    "[-s seconds] [-G guest-dir] [-Q qemu] [-R kilobytes] [-C MiB] "
	    "[-M MiB] [-H hosts] [-S search-url] [-A cafile] "
	    "[-a authority-socket]\n"
	    "       nucleus-node keygen [-d dir] [-k keyfile] [-r role] kid\n"
	    "       nucleus-node pod [-j] [-l socket] -k keyfile "
	    "create spec.json | list | status pod | stop pod | "
	    "export pod [path] | diff pod\n"
	    "       nucleus-node call [-j] [-l socket] [-a token-file] "
	    "-k keyfile pod op [args]\n"
	    "       nucleus-node approve [-j] [-A authority-socket] "
	    "[-N node-socket] "
	    "[-r reason] [-w seconds] -k keyfile pod op [args]\n"
	    "       nucleus-node doctor [-j]\n"
	    "       nucleus-node --help | --version\n";

void
node_usage(void)
{
	usage_fail(usage_text);
}

const char *
node_dir_default(void)
{
	const char *d = getenv("NUCLEUS_NODE_DIR");

	return d != NULL && *d != '\0' ? d : "/var/lib/nucleus-node";
}

char *
node_path(const char *dir, const char *name)
{
	static char buf[8][LOCAL_PATH_MAX];
	static int n;
	struct audit_err e;
	char *p = buf[n++ % 8];

	if (audit_fit(p, LOCAL_PATH_MAX, &e, "%s/%s", dir, name) != 0) {
		fprintf(stderr, "nucleus-node: %s\n", e.msg);
		exit(EXIT_ERR);
	}
	return p;
}

/* The socket the client talks to when -l does not say. */
const char *
node_socket_default(void)
{
	return node_path(node_dir_default(), "node.sock");
}

static int
keygen(int argc, char **argv)
{
	const struct keygen kg = { "nucleus-node", node_dir_default(), "node.key",
	    "node", node_usage };

	return keygen_main(&kg, argc, argv);
}

/* Tells systemd (Type=notify) where it listens for it; nothing
 * elsewhere. */
static void
notify(const char *state)
{
	(void)sd_notify(0, state);
}

/* Which drivers this host can run, and why not. */
static int
doctor(int argc, char **argv)
{
	int c, json = 0;

	while ((c = getopt(argc, argv, "j")) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		default: node_usage();
		}
	}
	if (optind != argc)
		node_usage();
	return doctor_run(json);
}

int
main(int argc, char **argv)
{
	const char *cmd;

	if (sodium_init() < 0)
		return EXIT_ERR;
	usage_std(argc, argv, "nucleus-node", usage_text);
	if (argc < 2)
		node_usage();
	cmd = argv[1];
	argc--;
	argv++;
	usage_std(argc, argv, "nucleus-node", usage_text);
	usage_command(argv, "nucleus-node");
	if (strcmp(cmd, "serve") == 0)
		return node_serve(argc, argv, notify);
	if (strcmp(cmd, "keygen") == 0)
		return keygen(argc, argv);
	if (strcmp(cmd, "call") == 0 || strcmp(cmd, "pod") == 0 ||
	    strcmp(cmd, "approve") == 0)
		return client_main(cmd, argc, argv);
	if (strcmp(cmd, "doctor") == 0)
		return doctor(argc, argv);
	usage_unknown("nucleus-node", cmd, usage_text);
}
