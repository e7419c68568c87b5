/*
 * nucleus-node's client: pod, call and approve.  Each signs one object
 * with the caller's key (-k), sends it, and says what came back.
 * Without -j: a result as one line of JSON on stdout, an error as
 * "kind: message" on stderr; with -j, the answer lines as they came
 * (errors are said on stderr too).  The exit status tells the outcome
 * either way: 0 ok, 1 refused, 2 an error, 3 approval_required.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "serve.h"
#include "ask.h"

#define EXIT_DENIED	1
#define EXIT_ERR	2
#define EXIT_APPROVAL	3

#define APPROVE_WAIT_MAX	86400	/* seconds -w may ask for */

/* What a result becomes on stdout. */
enum client_out {
	OUT_JSON,	/* the result, one line */
	OUT_ARCHIVE,	/* pod export: the archive's bytes */
	OUT_PATCH	/* pod diff: the patch's text */
};

struct client {
	const char *sock, *keyfile, *token, *reason;
	const char *node;	/* approve -N: through the node */
	int	 raw, wait;
	enum client_out out;
	struct audit_seckey *key;
};

static const char *const prog = "nucleus-node";

/* The kinds that are the node's or the pod's failure, not a "no". */
static int
error_kind(const char *kind)
{
	static const char *const errors[] = { "bad_request", "too_large",
	    "unavailable", "internal", "io_error", NULL };

	for (size_t i = 0; errors[i] != NULL; i++)
		if (strcmp(kind, errors[i]) == 0)
			return 1;
	return 0;
}

/*
 * pod export's archive, checked against its BLAKE2b, on stdout; pod
 * diff's patch, its paths counted on stderr.
 */
static int
bytes_out(const struct client *cl, const json_t *res)
{
	const char *s = json_string_value(json_object_get(res,
	    cl->out == OUT_ARCHIVE ? "archive" : "patch"));
	size_t n = json_string_length(json_object_get(res, cl->out ==
	    OUT_ARCHIVE ? "archive" : "patch")), len = 0;
	uint8_t h[AUDIT_HASH_LEN];
	char hex[AUDIT_HEX_LEN + 1];
	unsigned char *bin;
	int rc = EXIT_ERR;

	if (s == NULL) {
		fprintf(stderr, "%s: the node's answer holds no %s\n", prog,
		    cl->out == OUT_ARCHIVE ? "archive" : "patch");
		return EXIT_ERR;
	}
	if (cl->out == OUT_PATCH) {
		fprintf(stderr, "%s: %zu added, %zu removed, %zu modified\n",
		    prog, json_array_size(json_object_get(res, "added")),
		    json_array_size(json_object_get(res, "removed")),
		    json_array_size(json_object_get(res, "modified")));
		return fwrite(s, 1, n, stdout) == n ? 0 : EXIT_ERR;
	}
	if ((bin = malloc(n / 4 * 3 + 3)) == NULL ||
	    sodium_base642bin(bin, n / 4 * 3 + 3, s, n, NULL, &len, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0)
		fprintf(stderr, "%s: the archive is not base64\n", prog);
	else {
		crypto_generichash(h, sizeof(h), bin, len, NULL, 0);
		audit_hex(hex, h, sizeof(h));
		if (strcmp(hex, json_string_value(json_object_get(res,
		    "blake2b")) != NULL ? json_string_value(json_object_get(
		    res, "blake2b")) : "") != 0)
			fprintf(stderr, "%s: the archive does not match its "
			    "BLAKE2b\n", prog);
		else if (fwrite(bin, 1, len, stdout) == len)
			rc = 0;
	}
	free(bin);
	return rc;
}

/* Say the answer, in the form asked for; its exit status. */
static int
answer(const struct client *cl, const struct wire_reader *r,
    const json_t *resp)
{
	struct audit_buf b = { 0 };
	struct audit_err e;
	const char *kind;

	if (cl->raw)
		printf("%s\n", r->line);
	if (json_is_true(json_object_get(resp, "ok"))) {
		if (!cl->raw && cl->out != OUT_JSON)
			return bytes_out(cl, json_object_get(resp, "result"));
		if (!cl->raw && cjson_encode(json_object_get(resp, "result"),
		    &b, &e) == 0)
			printf("%.*s\n", (int)b.len, b.p);
		audit_buf_free(&b);
		return 0;
	}
	kind = wire_error(prog, resp);
	if (strcmp(kind, "approval_required") == 0)
		return EXIT_APPROVAL;
	return error_kind(kind) ? EXIT_ERR : EXIT_DENIED;
}

/* One signed request to the node, one answer. */
/*
 * The node went (it crashed, or was stopped) after the request did: no
 * answer comes, and the call may or may not have been made.  Said as the
 * node says a pod that cannot answer, unavailable (exit 2); with -j as
 * its answer line would be.
 */
static void
gone(const struct client *cl, const struct audit_err *e)
{
	char msg[sizeof(e->msg) + LOCAL_PATH_MAX + 64];
	json_t *o;

	audit_fmt(msg, sizeof(msg), "%s: no answer: %s", cl->sock, e->msg);
	if (cl->raw && (o = json_pack("{s:s, s:b, s:{s:s, s:s}}", "id", "c1",
	    "ok", 0, "error", "kind", "unavailable", "message", msg)) !=
	    NULL) {
		char *line = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);

		if (line != NULL)
			printf("%s\n", line);
		free(line);
		json_decref(o);
	}
	fprintf(stderr, "%s: unavailable: %s\n", prog, msg);
}

static int
request(const struct client *cl, const char *pod, const char *op,
    json_t *args, json_t *approval)
{
	struct wire_reader r = { .fd = -1, .max = NODE_OUTBUF_MAX };
	struct audit_err e;
	json_t *o, *resp = NULL;
	int rc = EXIT_ERR;

	if (pod[0] != '\0' && !audit_podname_valid(pod, strlen(pod))) {
		fprintf(stderr, "%s: %s: not a pod's name (nucleus-pod(5))\n",
		    prog, pod);
		json_decref(args);
		json_decref(approval);
		return EXIT_ERR;
	}
	o = wire_request("c1", pod, op, args, approval, cl->key, &e);
	approval = NULL;	/* transferred */
	if (o == NULL || (r.fd = wire_connect(cl->sock, &e)) < 0) {
		fprintf(stderr, "%s: %s\n", prog, e.msg);
		goto out;
	}
	if (wire_send(r.fd, o, &e) != 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, cl->sock, e.msg);
		goto out;
	}
	if (wire_read(&r, 0, &resp, &e) != 0) {
		gone(cl, &e);
		goto out;
	}
	rc = answer(cl, &r, resp);
out:
	json_decref(approval);
	json_decref(resp);
	json_decref(o);
	wire_reader_free(&r);
	return rc;
}

static int
seconds(const char *s)
{
	long long v;
	int rc;

	if ((rc = num_parse(s, 1, APPROVE_WAIT_MAX, &v)) != NUM_OK) {
		fprintf(stderr, "%s: -w %s: %s: expected 1 to %d seconds\n",
		    prog, s, num_strerror(rc), APPROVE_WAIT_MAX);
		exit(EXIT_ERR);
	}
	return (int)v;
}

static const struct option longopts[] = {
	{ "approval", required_argument, NULL, 'a' },
	{ NULL, 0, NULL, 0 }
};

/* The options of pod, call and approve; each takes only its own. */
static void
options(struct client *cl, const char *cmd, int argc, char **argv)
{
	const char *optstring = strcmp(cmd, "approve") == 0 ? "+A:jk:N:r:w:" :
	    strcmp(cmd, "call") == 0 ? "+a:jk:l:" : "+jk:l:";
	int c;

	while ((c = getopt_long(argc, argv, optstring, longopts, NULL)) !=
	    -1) {
		if (c == 'a' && strcmp(cmd, "call") != 0)
			node_usage();
		switch (c) {
		case 'A': cl->sock = optarg; break;
		case 'a': cl->token = optarg; break;
		case 'j': cl->raw = 1; break;
		case 'k': cl->keyfile = optarg; break;
		case 'l': cl->sock = optarg; break;
		case 'N': cl->node = optarg; break;
		case 'r': cl->reason = optarg; break;
		case 'w': cl->wait = seconds(optarg); break;
		default: node_usage();
		}
	}
	if (cl->keyfile == NULL)
		node_usage();
}

/* The args operand, {} when there is none. */
static json_t *
args_of(int argc, char **argv, int at)
{
	struct audit_err e;
	json_t *args;

	if (argc <= at)
		return json_object();
	if ((args = wire_args(argv[at], &e)) == NULL) {
		fprintf(stderr, "%s: %s\n", prog, e.msg);
		exit(EXIT_ERR);
	}
	return args;
}

/* approve: ask the authority, wait, print the token. */
static int
approve(struct client *cl, int argc, char **argv)
{
	char sock[4096];
	struct approval_ask a = { .prog = prog, .key = cl->key,
	    .reason = cl->reason, .raw = cl->raw, .timeout = cl->wait,
	    .line_max = NODE_OUTBUF_MAX };

	if (argc < 2 || argc > 3 || (cl->node != NULL && cl->sock != NULL))
		node_usage();
	a.sock = cl->sock;
	a.node = cl->node;
	if (a.sock == NULL && a.node == NULL) {
		struct audit_err e;

		if (audit_fit(sock, sizeof(sock), &e, "%s/request.sock",
		    authority_dir_default()) != 0) {
			fprintf(stderr, "%s: the authority's directory: %s\n",
			    prog, e.msg);
			return EXIT_ERR;
		}
		a.sock = sock;
	}
	a.pod = argv[0];
	a.op = argv[1];
	a.args = args_of(argc, argv, 2);
	return approval_ask(&a);
}

/* pod create|list|status|stop|export|diff */
static int
pod(struct client *cl, int argc, char **argv)
{
	json_error_t jerr;
	json_t *spec;
	char op[16];

	if (argc == 2 && strcmp(argv[0], "create") == 0) {
		if ((spec = json_load_file(argv[1], JSON_REJECT_DUPLICATES,
		    &jerr)) == NULL) {
			fprintf(stderr, "%s: %s: %s\n", prog, argv[1],
			    jerr.text);
			return EXIT_ERR;
		}
		return request(cl, "", "pod.create", spec, NULL);
	}
	if (argc == 1 && strcmp(argv[0], "list") == 0)
		return request(cl, "", "pod.list", json_object(), NULL);
	if (argc == 2 && (strcmp(argv[0], "status") == 0 ||
	    strcmp(argv[0], "stop") == 0)) {
		snprintf(op, sizeof(op), "pod.%s", argv[0]);
		return request(cl, argv[1], op, json_object(), NULL);
	}
	if ((argc == 2 || argc == 3) && strcmp(argv[0], "export") == 0) {
		/* Its bytes are the agent's: never to a terminal (as tar). */
		if (!cl->raw && isatty(STDOUT_FILENO)) {
			fprintf(stderr, "%s: refusing to write an archive to a "
			    "terminal; redirect standard output "
			    "(>work.tar)\n", prog);
			return EXIT_ERR;
		}
		cl->out = OUT_ARCHIVE;
		return request(cl, argv[1], "pod.export", argc == 3 ?
		    json_pack("{s:s}", "path", argv[2]) : json_object(),
		    NULL);
	}
	if (argc == 2 && strcmp(argv[0], "diff") == 0) {
		cl->out = OUT_PATCH;
		return request(cl, argv[1], "pod.diff", json_object(), NULL);
	}
	node_usage();
}

int
client_main(const char *cmd, int argc, char **argv)
{
	struct client cl = { 0 };
	struct audit_err e;
	json_error_t jerr;
	json_t *approval = NULL;
	int rc;

	options(&cl, cmd, argc, argv);
	argc -= optind;
	argv += optind;
	if (cl.sock == NULL && strcmp(cmd, "approve") != 0)
		cl.sock = node_socket_default();
	if (cl.token != NULL && (approval = json_load_file(cl.token,
	    JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
		fprintf(stderr, "%s: %s: %s\n", prog, cl.token, jerr.text);
		return EXIT_ERR;
	}
	if (strcmp(cmd, "call") == 0 && (argc < 2 || argc > 3))
		node_usage();
	if (audit_seckey_load(&cl.key, cl.keyfile, &e) != 0) {
		fprintf(stderr, "%s: %s\n", prog, e.msg);
		json_decref(approval);
		return EXIT_ERR;
	}
	if (strcmp(cmd, "approve") == 0)
		rc = approve(&cl, argc, argv);
	else if (strcmp(cmd, "call") == 0)
		rc = request(&cl, argv[0], argv[1], args_of(argc, argv, 2),
		    approval);
	else
		rc = pod(&cl, argc, argv);
	fflush(stdout);
	audit_seckey_free(cl.key);
	return rc;
}
