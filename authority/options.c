/*
 * The command line: the synopsis every command shares (usage), and
 * serve's options, read into the daemon's state and a struct serve_opts.
 * A wrong option is a usage error (exit 2), said before anything opens.
 */
#define _GNU_SOURCE
#include <assert.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ask.h"
#include "authority.h"
#include "usage.h"

const char authority_usage_text[] =
	    "usage: nucleus-authority serve [-n] [-d dir] [-k keyfile] "
	    "[-K keyring] [-r rules] [-l socket] [-a admin-socket] [-g group] "
	    "[-o operators] [-e seconds] [-t seconds] [-w seconds] "
	    "[-i seconds] [-s seconds] [-q count] [-R kilobytes] [-N]\n"
	    "       nucleus-authority keygen [-d dir] [-k keyfile] [-r role] kid\n"
	    "       nucleus-authority list [-j] [-d dir] [-a admin-socket]\n"
	    "       nucleus-authority show [-j] [-d dir] [-a admin-socket] id\n"
	    "       nucleus-authority grant [-j] [-d dir] [-a admin-socket] "
	    "[-t seconds] id\n"
	    "       nucleus-authority deny [-j] [-d dir] [-a admin-socket] "
	    "[-r reason] id | -A agent\n"
	    "       nucleus-authority watch [-j] [-d dir] [-a admin-socket]\n"
	    "       nucleus-authority ask [-j] [-d dir] [-l socket] [-m reason] "
	    "-k keyfile pod op args\n"
	    "       nucleus-authority status [-j] [-d dir] [-l socket] "
	    "-k keyfile id\n"
	    "       nucleus-authority --help | --version\n";

void
authority_usage(void)
{
	usage_fail(authority_usage_text);
}

static int
number(const char *s, int min, int max, const char *unit)
{
	long long v;
	int rc;

	if ((rc = num_parse(s, min, max, &v)) != NUM_OK) {
		fprintf(stderr, "nucleus-authority: %s: %s: expected %d to %d "
		    "%s\n", s, num_strerror(rc), min, max, unit);
		exit(EXIT_ERR);
	}
	return (int)v;
}

static int
seconds(const char *s, int min, int max)
{
	return number(s, min, max, "seconds");
}

/* dir/name; serve needs seven of them, for as long as it runs. */
static char *
in_dir(const char *dir, const char *name)
{
	static char buf[7][4096];
	static int n;
	struct audit_err e;
	char *p;

	if (n == 7)
		abort();
	p = buf[n++];
	if (audit_fit(p, sizeof(buf[0]), &e, "%s/%s", dir, name) != 0) {
		fprintf(stderr, "nucleus-authority: %s\n", e.msg);
		exit(EXIT_ERR);
	}
	return p;
}

/* One uid, by name or number. */
static uid_t
operator(const char *tok)
{
	struct passwd *pw = getpwnam(tok);
	unsigned long long v;

	if (pw != NULL)
		return pw->pw_uid;
	if (num_parse_u(tok, 0, (uid_t)-1 - 1, &v) != NUM_OK) {
		fprintf(stderr, "nucleus-authority: -o: no such user %s\n",
		    tok);
		exit(EXIT_ERR);
	}
	return (uid_t)v;
}

/* uids, by name or number, comma-separated. */
static void
operators(struct authority *a, const char *list)
{
	char *copy = strdup(list), *save = NULL, *tok;

	if (copy == NULL)
		authority_usage();
	a->noperators = 0;
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		if (a->noperators == OPERATORS_MAX) {
			fprintf(stderr, "nucleus-authority: -o: at most %d "
			    "operators\n", OPERATORS_MAX);
			exit(EXIT_ERR);
		}
		a->operators[a->noperators++] = operator(tok);
	}
	free(copy);
	if (a->noperators == 0)
		authority_usage();
}

static gid_t
group(const char *name)
{
	struct group *gr = getgrnam(name);
	unsigned long long v;

	if (gr != NULL)
		return gr->gr_gid;
	if (num_parse_u(name, 0, (gid_t)-1 - 1, &v) != NUM_OK) {
		fprintf(stderr, "nucleus-authority: -g: no such group %s\n",
		    name);
		exit(EXIT_ERR);
	}
	return (gid_t)v;
}

/* What is not given lives in the directory. */
static void
default_paths(struct serve_opts *o)
{
	if (o->keyfile == NULL)
		o->keyfile = in_dir(o->dir, "authority.key");
	if (o->keyring == NULL)
		o->keyring = in_dir(o->dir, "keyring");
	if (o->rulesfile == NULL)
		o->rulesfile = in_dir(o->dir, "rules.json");
	if (o->reqsock == NULL)
		o->reqsock = in_dir(o->dir, "request.sock");
	if (o->adminsock == NULL)
		o->adminsock = in_dir(o->dir, "admin.sock");
	o->logpath = in_dir(o->dir, "audit.log");
	o->statepath = in_dir(o->dir, "state.mdb");
}

/*
 * serve's options: the limits and the operators into a, the paths into
 * o.  root is always an operator, and so is whoever runs the daemon.
 */
void
serve_options(struct authority *a, struct serve_opts *o, int argc,
    char **argv)
{
	int c;

	memset(o, 0, sizeof(*o));
	o->dir = authority_dir_default();
	o->gid = (gid_t)-1;
	a->ttl = TTL_DEFAULT;
	a->expire = EXPIRE_DEFAULT;
	a->skew = SKEW_DEFAULT;
	a->agent_pending = AGENT_PENDING_DEFAULT;
	a->lines.idle_s = IDLE_S;
	a->lines.line_s = LINE_S;
	a->rotate_kb = LOG_ROTATE_KB;
	a->operators[0] = 0;
	a->noperators = 1;
	if (geteuid() != 0)
		a->operators[a->noperators++] = geteuid();
	while ((c = getopt(argc, argv, "a:d:e:g:i:K:k:l:Nno:q:R:r:s:t:w:")) !=
	    -1) {
		switch (c) {
		case 'a': o->adminsock = optarg; break;
		case 'd': o->dir = optarg; break;
		case 'e': a->expire = seconds(optarg, 1, EXPIRE_MAX); break;
		case 'g': o->gid = group(optarg); break;
		case 'i': a->lines.idle_s = seconds(optarg, 1, CONN_S_MAX); break;
		case 'K': o->keyring = optarg; break;
		case 'k': o->keyfile = optarg; break;
		case 'l': o->reqsock = optarg; break;
		case 'N': a->via_node = 1; break;
		case 'n': o->check_only = 1; break;
		case 'o': operators(a, optarg); break;
		case 'q':
			a->agent_pending = number(optarg, 1, PENDING_MAX,
			    "requests");
			break;
		case 'R':
			a->rotate_kb = number(optarg, 0, LOG_ROTATE_KB_MAX,
			    "KiB");
			break;
		case 'r': o->rulesfile = optarg; break;
		case 's': a->lines.line_s = seconds(optarg, 1, CONN_S_MAX); break;
		case 't': a->ttl = seconds(optarg, 1, TTL_MAX); break;
		case 'w': a->skew = seconds(optarg, 1, SKEW_MAX); break;
		default: authority_usage();
		}
	}
	if (optind != argc)
		authority_usage();
	/* getopt() gives "d:" an argument; scan-build thinks optarg may be
	 * NULL, and so dir (core.NonNullParamChecker at serve_load's stat()). */
	assert(o->dir != NULL);
	default_paths(o);
}
