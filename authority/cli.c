/*
 * The commands around the daemon: keygen, the operator's list, show,
 * grant, deny and watch (on the admin socket), and the agent's ask and
 * status (on the request socket, signed).  Output is one line per item,
 * or with -j the JSON the daemon sent.  Text that comes from an agent is
 * escaped before it reaches a terminal: nothing it sends can move the
 * cursor, change colours or hide itself.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ask.h"
#include "authority.h"
#include "keygen.h"

/* An answer line of the authority: a list can be long. */
#define ANSWER_MAX	(4 * (size_t)LINE_MAX_BYTES)

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "nucleus-authority: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EXIT_ERR);
}

/*
 * JSON as compact ASCII, at most max characters (then "...").  jansson
 * escapes control characters and, asked to, everything past ASCII; DEL
 * it leaves, so it is escaped here, the JSON way.
 */
static void
put_json(const json_t *v, size_t max)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENSURE_ASCII |
	    JSON_SORT_KEYS | JSON_ENCODE_ANY);
	size_t n;

	if (s == NULL) {
		fputs("-", stdout);
		return;
	}
	n = strlen(s);
	if (max > 0 && n > max)
		n = max;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch < 0x20 || ch > 0x7e)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	if (max > 0 && strlen(s) > max)
		fputs("...", stdout);
	free(s);
}

static void
put_text(const json_t *v)
{
	if (json_is_string(v))
		wire_escape(stdout, json_string_value(v),
		    json_string_length(v));
	else if (v == NULL || json_is_null(v))
		fputs("-", stdout);
	else
		put_json(v, 0);
}

static void
put_time(const json_t *v)
{
	time_t t = (time_t)json_integer_value(v);
	struct tm tm;
	char buf[32];

	if (!json_is_integer(v) || gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		fputs("-", stdout);
	else
		fputs(buf, stdout);
}

/* dir/name, in a buffer of its own for each of the two sockets. */
static const char *
in_dir(const char *dir, const char *name)
{
	static char buf[2][4096];
	static int which;
	char *p = buf[which++ % 2];
	struct audit_err e;

	if (audit_fit(p, sizeof(buf[0]), &e, "%s/%s", dir, name) != 0)
		die("%s", e.msg);
	return p;
}

static int
connect_to(const char *path)
{
	struct audit_err e;
	int fd;

	if ((fd = wire_connect(path, &e)) < 0)
		die("%s", e.msg);
	return fd;
}

static void
send_json(int fd, const json_t *v)
{
	struct audit_err e;

	if (wire_send(fd, v, &e) != 0)
		die("%s", e.msg);
}

/* The next answer line; NULL at the end of the connection. */
static json_t *
read_line(struct wire_reader *r)
{
	struct audit_err e;
	json_t *v;

	return wire_read(r, 0, &v, &e) == 0 ? v : NULL;
}

/* An error answer: said on stderr; 1 when the authority refused. */
static int
error_exit(const json_t *resp)
{
	return authority_refused(wire_error("nucleus-authority", resp)) ?
	    EXIT_DENIED : EXIT_ERR;
}

/* One request in one line: what list and watch print. */
static void
put_summary(const json_t *s)
{
	put_text(json_object_get(s, "id"));
	putchar(' ');
	put_text(json_object_get(s, "state"));
	putchar(' ');
	put_text(json_object_get(s, "agent"));
	putchar(' ');
	put_text(json_object_get(s, "pod"));
	putchar(' ');
	put_text(json_object_get(s, "op"));
	putchar(' ');
	if (json_object_get(s, "subject") != NULL)
		put_json(json_object_get(s, "subject"), 200);
	else
		putchar('-');
	putchar('\n');
}

static void
put_field(const char *name, const json_t *v)
{
	if (v == NULL)
		return;
	printf("%s: ", name);
	put_text(v);
	putchar('\n');
}

static void
put_request(const json_t *rec)
{
	const json_t *t = json_object_get(rec, "token");

	put_field("id", json_object_get(rec, "id"));
	put_field("state", json_object_get(rec, "state"));
	put_field("agent", json_object_get(rec, "agent"));
	put_field("pod", json_object_get(rec, "pod"));
	put_field("node", json_object_get(rec, "node"));
	put_field("op", json_object_get(rec, "op"));
	fputs("args: ", stdout);
	put_json(json_object_get(rec, "args"), 0);
	putchar('\n');
	put_field("args_digest", json_object_get(rec, "args_digest"));
	put_field("reason", json_object_get(rec, "reason"));
	fputs("received: ", stdout);
	put_time(json_object_get(rec, "received"));
	fputs("\nexpires: ", stdout);
	put_time(json_object_get(rec, "expires"));
	putchar('\n');
	if (json_object_get(rec, "decided") != NULL) {
		fputs("decided: ", stdout);
		put_time(json_object_get(rec, "decided"));
		putchar('\n');
	}
	put_field("by", json_object_get(rec, "by"));
	put_field("uid", json_object_get(rec, "uid"));
	put_field("rule", json_object_get(rec, "rule"));
	put_field("deny_reason", json_object_get(rec, "deny_reason"));
	if (t != NULL) {
		put_field("token_nonce", json_object_get(t, "nonce"));
		fputs("token_expires: ", stdout);
		put_time(json_object_get(t, "exp"));
		putchar('\n');
	}
}

/* An operator's command line. */
struct admin_opts {
	const char *dir, *sock, *reason, *agent;
	int	 raw, ttl, want_id;
};

static void
admin_opts(struct admin_opts *o, const char *cmd, int argc, char **argv)
{
	long long ttlv;
	int c;

	o->dir = authority_dir_default();
	o->want_id = strcmp(cmd, "show") == 0 || strcmp(cmd, "grant") == 0 ||
	    strcmp(cmd, "deny") == 0;
	while ((c = getopt(argc, argv, "A:a:d:jr:t:")) != -1) {
		switch (c) {
		case 'A':
			if (strcmp(cmd, "deny") != 0)
				authority_usage();
			o->agent = optarg;
			o->want_id = 0;
			break;
		case 'a': o->sock = optarg; break;
		case 'd': o->dir = optarg; break;
		case 'j': o->raw = 1; break;
		case 'r':
			if (strcmp(cmd, "deny") != 0)
				authority_usage();
			o->reason = optarg;
			break;
		case 't':
			if (strcmp(cmd, "grant") != 0)
				authority_usage();
			if (num_parse(optarg, 1, TTL_MAX, &ttlv) != NUM_OK)
				die("-t %s: expected 1 to %d seconds", optarg,
				    TTL_MAX);
			o->ttl = (int)ttlv;
			break;
		default: authority_usage();
		}
	}
	if (argc - optind != o->want_id)
		authority_usage();
	if (o->sock == NULL)
		o->sock = in_dir(o->dir, "admin.sock");
}

/* The command line as the admin socket's JSON (nucleus-authority(8)). */
static json_t *
admin_command(const char *cmd, const struct admin_opts *o, const char *id)
{
	json_t *args = json_object();

	if (o->want_id)
		json_object_set_new(args, "id", json_string(id));
	if (o->agent != NULL) {
		json_t *as = json_string(o->agent);

		if (as == NULL)
			die("%s", "-A: the agent is not UTF-8 text");
		json_object_set_new(args, "agent", as);
	}
	if (o->ttl > 0)
		json_object_set_new(args, "ttl_s", json_integer(o->ttl));
	if (o->reason != NULL) {
		json_t *rs = json_string(o->reason);

		if (rs == NULL)
			die("%s", "-r: the reason is not UTF-8 text");
		json_object_set_new(args, "reason", rs);
	}
	return json_pack("{s:s, s:i, s:s, s:s, s:o}", "type", "admin", "v",
	    1, "id", cmd, "op", cmd, "args", args);
}

/* A successful answer, one line per item. */
static void
admin_print(const char *cmd, const json_t *result)
{
	const json_t *v;
	size_t i;

	if (strcmp(cmd, "list") == 0)
		json_array_foreach(json_object_get(result, "requests"), i, v)
			put_summary(v);
	else if (strcmp(cmd, "show") == 0)
		put_request(json_object_get(result, "request"));
	else if (json_object_get(result, "denied") != NULL)
		json_array_foreach(json_object_get(result, "denied"), i, v) {
			put_text(v);
			fputs(" denied\n", stdout);
		}
	else if (strcmp(cmd, "watch") != 0) {
		put_text(json_object_get(result, "id"));
		putchar(' ');
		put_text(json_object_get(result, "state"));
		putchar('\n');
	}
}

/* watch: each event as it comes, until the authority closes. */
static void
admin_watch(struct wire_reader *r, int raw)
{
	json_t *ev;

	while ((ev = read_line(r)) != NULL) {
		if (raw)
			printf("%s\n", r->line);
		else {
			put_text(json_object_get(ev, "event"));
			putchar(' ');
			put_summary(json_object_get(ev, "request"));
		}
		fflush(stdout);
		json_decref(ev);
	}
}

/* list, show, grant, deny, watch: one command on the admin socket. */
int
cmd_admin(const char *cmd, int argc, char **argv)
{
	struct admin_opts o = { 0 };
	struct wire_reader r = { .fd = -1, .max = ANSWER_MAX };
	json_t *cmdobj, *resp;
	int rc = 0;

	admin_opts(&o, cmd, argc, argv);
	cmdobj = admin_command(cmd, &o, argv[optind]);
	r.fd = connect_to(o.sock);
	send_json(r.fd, cmdobj);
	json_decref(cmdobj);
	if ((resp = read_line(&r)) == NULL)
		die("%s: the authority closed the connection", o.sock);
	if (o.raw)
		printf("%s\n", r.line);
	if (!json_is_true(json_object_get(resp, "ok")))
		rc = error_exit(resp);
	else {
		if (!o.raw)
			admin_print(cmd, json_object_get(resp, "result"));
		fflush(stdout);
		if (strcmp(cmd, "watch") == 0)
			admin_watch(&r, o.raw);
	}
	json_decref(resp);
	wire_reader_free(&r);
	/* A list that did not reach its reader is not a success. */
	if (fflush(stdout) != 0 || ferror(stdout))
		die("standard output: %s", strerror(errno));
	return rc;
}

int
cmd_keygen(int argc, char **argv)
{
	const struct keygen kg = { "nucleus-authority",
	    authority_dir_default(), "authority.key", "authority",
	    authority_usage };

	return keygen_main(&kg, argc, argv);
}

/* The agent's side: signed objects, on the request socket. */
struct agent_opts {
	const char *dir, *sock, *keyfile, *reason;
	int	 raw;
	struct audit_seckey *key;
};

static void
agent_opts(struct agent_opts *o, int argc, char **argv, int ask)
{
	struct audit_err e;
	int c;

	o->dir = authority_dir_default();
	while ((c = getopt(argc, argv, ask ? "d:jk:l:m:" : "d:jk:l:")) !=
	    -1) {
		switch (c) {
		case 'd': o->dir = optarg; break;
		case 'j': o->raw = 1; break;
		case 'k': o->keyfile = optarg; break;
		case 'l': o->sock = optarg; break;
		case 'm': o->reason = optarg; break;
		default: authority_usage();
		}
	}
	if (o->keyfile == NULL)
		authority_usage();
	if (o->sock == NULL)
		o->sock = in_dir(o->dir, "request.sock");
	if (audit_seckey_load(&o->key, o->keyfile, &e) != 0)
		die("%s", e.msg);
}

/* ask: request an approval and wait for the decision. */
int
cmd_ask(int argc, char **argv)
{
	struct agent_opts ao = { 0 };
	struct approval_ask a = { .prog = "nucleus-authority",
	    .line_max = ANSWER_MAX };
	struct audit_err e;
	int rc;

	agent_opts(&ao, argc, argv, 1);
	if (argc - optind != 3)
		authority_usage();
	if ((a.args = wire_args(argv[optind + 2], &e)) == NULL)
		die("%s", e.msg);
	a.sock = ao.sock;
	a.key = ao.key;
	a.pod = argv[optind];
	a.op = argv[optind + 1];
	a.reason = ao.reason;
	a.raw = ao.raw;
	rc = approval_ask(&a);
	audit_seckey_free(ao.key);
	return rc;
}

/* status: where one of this agent's requests stands, now. */
int
cmd_status(int argc, char **argv)
{
	struct agent_opts ao = { 0 };
	struct wire_reader r = { .fd = -1, .max = ANSWER_MAX };
	struct audit_err e;
	json_t *o, *resp;
	int rc;

	agent_opts(&ao, argc, argv, 0);
	if (argc - optind != 1)
		authority_usage();
	o = json_pack("{s:s}", "id", argv[optind]);
	if (o == NULL || wire_sign(o, "approval-status", ao.key, &e) != 0)
		die("%s", o == NULL ? "the id must be UTF-8 text" : e.msg);
	r.fd = connect_to(ao.sock);
	send_json(r.fd, o);
	json_decref(o);
	if (wire_read(&r, 0, &resp, &e) != 0)
		die("%s: %s", ao.sock, e.msg);
	if (ao.raw)
		printf("%s\n", r.line);
	rc = approval_report("nucleus-authority", resp, !ao.raw);
	json_decref(resp);
	wire_reader_free(&r);
	audit_seckey_free(ao.key);
	return rc;
}
