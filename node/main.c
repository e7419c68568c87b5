/*
 * nucleus-node: the control plane's daemon (serve), its key (keygen) and
 * the client commands (pod, call).  Work in progress on this branch.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"

#define EXIT_DENIED	1
#define EXIT_ERR	2
#define EXIT_APPROVAL	3

struct node *N;
static struct node node;

static const struct lines_ops sockets = {
	.line = node_line,
	.overlong = node_overlong,
	.inflight_max = { NODE_INFLIGHT_MAX },
};
static ev_signal sigterm, sigint;

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr,
	    "usage: nucleus-node serve [-B path] [-d dir] [-k keyfile] "
	    "[-K keyring] [-T trust] [-l socket] [-g group] [-P proxy] "
	    "[-w seconds]\n"
	    "       nucleus-node keygen [-d dir] [-k keyfile] kid\n"
	    "       nucleus-node pod [-l socket] -k keyfile "
	    "create spec.json | list | status pod | stop pod\n"
	    "       nucleus-node call [-l socket] [-a token] -k keyfile "
	    "pod op [args]\n");
	exit(EXIT_ERR);
}

static const char *
dir_default(void)
{
	const char *d = getenv("NUCLEUS_NODE_DIR");

	return d != NULL && *d != '\0' ? d : "/var/lib/nucleus-node";
}

static char *
in_dir(const char *dir, const char *name)
{
	static char buf[8][LOCAL_PATH_MAX];
	static int n;
	char *p = buf[n++ % 8];

	if ((size_t)snprintf(p, LOCAL_PATH_MAX, "%s/%s", dir, name) >=
	    LOCAL_PATH_MAX) {
		fprintf(stderr, "nucleus-node: %s: path too long\n", dir);
		exit(EXIT_ERR);
	}
	return p;
}

static int
pod_exists(void *arg, const char *pod)
{
	(void)arg;
	return pod_find(pod) != NULL;
}

static int
may_call(void *arg, const char *pod, const char *kid)
{
	struct pod *p = pod_find(pod);

	(void)arg;
	if (p == NULL)
		return -1;
	return podspec_names(&p->spec, kid);
}

static void
stop(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

/*
 * -B: one more host path bound read-only at the same place in every pod,
 * after the four serve() binds below (binds[0] to binds[3]).  Not one
 * the sandbox mounts over, where it would be hidden.
 */
static void
add_bind(const char *path)
{
	static const char *const made[] = { "/work", "/tmp",
	    "/var/lib/nucleus", "/proc", "/dev", "/etc/nucleus",
	    SANDBOX_EXE_DIR, NULL };
	static size_t n = 4;
	const char *why = NULL;

	if (path[0] != '/' || strcmp(path, "/") == 0)
		why = "expected an absolute path, not /";
	else if (strstr(path, "/../") != NULL || (strlen(path) >= 3 &&
	    strcmp(path + strlen(path) - 3, "/..") == 0))
		why = "a path with .. in it";
	else if (n >= SANDBOX_BINDS_MAX)
		why = "too many paths";
	for (size_t i = 0; why == NULL && made[i] != NULL; i++) {
		size_t len = strlen(made[i]), plen = strlen(path);

		if (strncmp(path, made[i], len) == 0 && (path[len] == '\0' ||
		    path[len] == '/'))
			why = "the sandbox mounts over it";
		else if (strncmp(made[i], path, plen) == 0 &&
		    made[i][plen] == '/')
			why = "the sandbox mounts beneath it";
	}
	if (why != NULL) {
		fprintf(stderr, "nucleus-node: -B %s: %s\n", path, why);
		exit(EXIT_ERR);
	}
	N->lenv.binds[n++] = path;
}

static int
serve(int argc, char **argv)
{
	const char *dir = dir_default(), *keyfile = NULL, *keyring = NULL,
	    *trust = NULL, *sock = NULL, *proxy = NULL;
	char log_id[AUDIT_LOGID_MAX + 1], hash[AUDIT_HEX_LEN + 1], exe[4096];
	struct audit_err e;
	struct stat st;
	gid_t gid = (gid_t)-1;
	MDB_txn *txn;
	uint64_t seq;
	json_t *ev;
	int c;

	N = &node;
	N->gate.skew = GATE_SKEW;
	N->gate.line_max = GATE_LINE_MAX;
	while ((c = getopt(argc, argv, "B:d:g:K:k:l:P:T:w:")) != -1) {
		switch (c) {
		case 'B': add_bind(optarg); break;
		case 'd': dir = optarg; break;
		case 'g': {
			struct group *gr = getgrnam(optarg);

			if (gr == NULL)
				usage();
			gid = gr->gr_gid;
			break;
		}
		case 'K': keyring = optarg; break;
		case 'k': keyfile = optarg; break;
		case 'l': sock = optarg; break;
		case 'P': proxy = optarg; break;
		case 'T': trust = optarg; break;
		case 'w': N->gate.skew = atoi(optarg); break;
		default: usage();
		}
	}
	if (optind != argc || N->gate.skew < 1 || N->gate.skew > 3600)
		usage();
	/* The sandbox binds from the host's root: paths are absolute. */
	if ((dir = realpath(dir, NULL)) == NULL) {
		fprintf(stderr, "nucleus-node: %s: %s\n", argv[optind - 1],
		    strerror(errno));
		return 1;
	}
	keyfile = keyfile != NULL ? keyfile : in_dir(dir, "node.key");
	keyring = keyring != NULL ? keyring : in_dir(dir, "keyring");
	trust = trust != NULL ? trust : in_dir(dir, "trust");
	sock = sock != NULL ? sock : in_dir(dir, "node.sock");
	if (proxy == NULL) {
		ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 32);
		char *slash;

		if (n < 0)
			usage();
		exe[n] = '\0';
		if ((slash = strrchr(exe, '/')) != NULL)
			strcpy(slash + 1, "nucleus-proxy");
		proxy = exe;
	}
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode) ||
	    (st.st_mode & 022) != 0) {
		fprintf(stderr, "nucleus-node: %s: not a directory others "
		    "cannot write\n", dir);
		return 1;
	}
	if (audit_seckey_load(&N->key, keyfile, &e) != 0 ||
	    audit_keyring_load(&N->keys, keyring, &e) != 0) {
		fprintf(stderr, "nucleus-node: %s\n", e.msg);
		return 1;
	}
	audit_fmt(N->pods_dir, sizeof(N->pods_dir), "%s/pods", dir);
	if (mkdir(N->pods_dir, 0711) != 0 && errno != EEXIST) {
		fprintf(stderr, "nucleus-node: %s: %s\n", N->pods_dir,
		    strerror(errno));
		return 2;
	}
	N->lenv.proxy = proxy;
	N->lenv.trust = trust;
	N->lenv.node_key = N->key;
	N->lenv.uid = 65534;
	N->lenv.gid = 65534;
	N->lenv.binds[0] = "/usr";
	N->lenv.binds[1] = "/bin";
	N->lenv.binds[2] = "/lib";
	N->lenv.binds[3] = "/lib64";
	if (mdb_env_create(&N->env) != 0 || mdb_env_set_maxdbs(N->env, 4) ||
	    mdb_env_open(N->env, in_dir(dir, "state.mdb"), MDB_NOSUBDIR |
	    MDB_NOSYNC | MDB_NOTLS, 0600) != 0 ||
	    mdb_txn_begin(N->env, NULL, 0, &txn) != 0 ||
	    mdb_dbi_open(txn, "nonces", MDB_CREATE, &N->gate.nonces) != 0 ||
	    mdb_txn_commit(txn) != 0) {
		fprintf(stderr, "nucleus-node: the state cannot be opened\n");
		return 2;
	}
	N->gate.keys = &N->keys;
	N->gate.env = N->env;
	N->gate.pod_exists = pod_exists;
	N->gate.may_call = may_call;
	audit_fmt(log_id, sizeof(log_id), "node-%s", N->key->kid);
	if (audit_log_open(&N->log, in_dir(dir, "audit.log"), log_id, N->key,
	    NULL, &e) != 0) {
		fprintf(stderr, "nucleus-node: %s\n", e.msg);
		return 2;
	}
	N->loop = EV_DEFAULT;
	pthread_mutex_init(&N->done_mu, NULL);
	ev_async_init(&N->done_async, node_drain);
	ev_async_start(N->loop, &N->done_async);
	ev_prepare_init(&N->flush, node_flush);
	ev_prepare_start(N->loop, &N->flush);
	ev_timer_init(&N->tick, pods_tick, 1., 1.);
	ev_timer_start(N->loop, &N->tick);
	ev_signal_init(&sigterm, stop, SIGTERM);
	ev_signal_start(N->loop, &sigterm);
	ev_signal_init(&sigint, stop, SIGINT);
	ev_signal_start(N->loop, &sigint);
	signal(SIGPIPE, SIG_IGN);
	N->lines.loop = N->loop;
	N->lines.ops = &sockets;
	N->lines.line_max = N->gate.line_max;
	N->lines.outbuf_max = NODE_OUTBUF_MAX;
	N->lines.conns_max = NODE_CONNS_MAX;
	if (lines_listen_unix(&N->lines, 0, sock, gid, &e) != 0) {
		fprintf(stderr, "nucleus-node: %s\n", e.msg);
		return 2;
	}
	ev = json_pack("{s:s, s:I, s:i}", "event", "node.start", "pid",
	    (json_int_t)getpid(), "keys", (int)N->keys.n);
	if (audit_log_append_wait(N->log, ev, &seq, hash, &e) != 0) {
		fprintf(stderr, "nucleus-node: %s\n", e.msg);
		return 2;
	}
	json_decref(ev);
	fprintf(stderr, "nucleus-node: serving %s\n", sock);
	ev_run(N->loop, 0);
	pods_stop_all();
	node_flush(N->loop, &N->flush, 0);
	ev = json_pack("{s:s}", "event", "node.stop");
	(void)audit_log_append_wait(N->log, ev, &seq, hash, &e);
	json_decref(ev);
	(void)audit_log_close(N->log, &e);
	mdb_env_sync(N->env, 1);
	mdb_env_close(N->env);
	return 0;
}

static int
keygen(int argc, char **argv)
{
	const char *dir = dir_default(), *path = NULL;
	struct audit_seckey *k;
	struct audit_err e;
	char line[256];
	int c;

	while ((c = getopt(argc, argv, "d:k:")) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'k': path = optarg; break;
		default: usage();
		}
	}
	if (argc - optind != 1)
		usage();
	if (path == NULL)
		path = in_dir(dir, "node.key");
	if (audit_seckey_generate(&k, argv[optind], &e) != 0 ||
	    audit_seckey_save(k, path, &e) != 0) {
		fprintf(stderr, "nucleus-node: %s\n", e.msg);
		return EXIT_ERR;
	}
	audit_keyring_line(k, "node", line, sizeof(line));
	printf("%s\n", line);
	audit_seckey_free(k);
	return 0;
}

/* The client: one signed request, one response line. */
static int
request(const char *sock, const char *keyfile, const char *pod,
    const char *op, json_t *args, json_t *approval, int raw)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct audit_seckey *k;
	struct audit_buf b = { 0 };
	struct audit_err e;
	uint8_t nonce[AUDIT_NONCE_LEN];
	char hex[2 * AUDIT_NONCE_LEN + 1], *line = NULL;
	size_t cap = 0;
	json_error_t jerr;
	json_t *o, *r;
	const char *kind;
	FILE *f;
	int fd;

	if (audit_seckey_load(&k, keyfile, &e) != 0) {
		fprintf(stderr, "nucleus-node: %s\n", e.msg);
		return EXIT_ERR;
	}
	randombytes_buf(nonce, sizeof(nonce));
	audit_hex(hex, nonce, sizeof(nonce));
	o = json_pack("{s:s, s:i, s:s, s:s, s:I, s:s, s:s, s:s, s:o}", "type",
	    "request", "v", 1, "id", "c1", "kid", k->kid, "ts",
	    (json_int_t)time(NULL), "nonce", hex, "pod", pod, "op", op, "args",
	    args);
	if (approval != NULL)
		json_object_set_new(o, "approval", approval);
	if (audit_sign(o, "request", k, &e) != 0 ||
	    cjson_encode(o, &b, &e) != 0 || audit_buf_add(&b, "\n", 1) != 0) {
		fprintf(stderr, "nucleus-node: %s\n", e.msg);
		return EXIT_ERR;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    audit_writeall(fd, b.p, b.len) != 0 ||
	    (f = fdopen(fd, "r")) == NULL || getline(&line, &cap, f) <= 0) {
		fprintf(stderr, "nucleus-node: %s: %s\n", sock,
		    strerror(errno));
		return EXIT_ERR;
	}
	fputs(line, stdout);
	r = json_loads(line, 0, &jerr);
	fclose(f);
	free(line);
	audit_buf_free(&b);
	json_decref(o);
	audit_seckey_free(k);
	(void)raw;
	if (r == NULL)
		return EXIT_ERR;
	if (json_is_true(json_object_get(r, "ok")))
		return json_decref(r), 0;
	kind = json_string_value(json_object_get(json_object_get(r, "error"),
	    "kind"));
	if (kind != NULL && strcmp(kind, "approval_required") == 0)
		return json_decref(r), EXIT_APPROVAL;
	if (kind != NULL && (strcmp(kind, "unavailable") == 0 ||
	    strcmp(kind, "internal") == 0 || strcmp(kind, "io_error") == 0 ||
	    strcmp(kind, "bad_request") == 0 || strcmp(kind, "too_large") == 0))
		return json_decref(r), EXIT_ERR;
	return json_decref(r), EXIT_DENIED;
}

static int
client(const char *cmd, int argc, char **argv)
{
	const char *sock = NULL, *keyfile = NULL, *token = NULL;
	json_error_t jerr;
	json_t *args, *approval = NULL;
	int c, raw = 1;

	while ((c = getopt(argc, argv, "a:k:l:")) != -1) {
		switch (c) {
		case 'a': token = optarg; break;
		case 'k': keyfile = optarg; break;
		case 'l': sock = optarg; break;
		default: usage();
		}
	}
	if (keyfile == NULL)
		usage();
	if (sock == NULL)
		sock = in_dir(dir_default(), "node.sock");
	argc -= optind;
	argv += optind;
	if (token != NULL && (approval = json_load_file(token,
	    JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
		fprintf(stderr, "nucleus-node: %s: %s\n", token, jerr.text);
		return EXIT_ERR;
	}
	if (strcmp(cmd, "call") == 0) {
		if (argc < 2 || argc > 3)
			usage();
		args = argc < 3 ? json_object() : strcmp(argv[2], "-") == 0 ?
		    json_loadf(stdin, JSON_REJECT_DUPLICATES, &jerr) :
		    json_loads(argv[2], JSON_REJECT_DUPLICATES, &jerr);
		if (!json_is_object(args)) {
			fprintf(stderr, "nucleus-node: args: expected a JSON "
			    "object\n");
			return EXIT_ERR;
		}
		return request(sock, keyfile, argv[0], argv[1], args, approval,
		    raw);
	}
	/* pod create|list|status|stop */
	if (argc < 1)
		usage();
	if (strcmp(argv[0], "create") == 0 && argc == 2) {
		if ((args = json_load_file(argv[1], JSON_REJECT_DUPLICATES,
		    &jerr)) == NULL) {
			fprintf(stderr, "nucleus-node: %s: %s\n", argv[1],
			    jerr.text);
			return EXIT_ERR;
		}
		return request(sock, keyfile, "", "pod.create", args, NULL,
		    raw);
	}
	if (strcmp(argv[0], "list") == 0 && argc == 1)
		return request(sock, keyfile, "", "pod.list", json_object(),
		    NULL, raw);
	if ((strcmp(argv[0], "status") == 0 || strcmp(argv[0], "stop") == 0) &&
	    argc == 2) {
		char op[16];

		snprintf(op, sizeof(op), "pod.%s", argv[0]);
		return request(sock, keyfile, argv[1], op, json_object(), NULL,
		    raw);
	}
	usage();
}

int
main(int argc, char **argv)
{
	const char *cmd;

	if (sodium_init() < 0)
		return EXIT_ERR;
	if (argc < 2)
		usage();
	cmd = argv[1];
	argc--;
	argv++;
	if (strcmp(cmd, "serve") == 0)
		return serve(argc, argv);
	if (strcmp(cmd, "keygen") == 0)
		return keygen(argc, argv);
	if (strcmp(cmd, "call") == 0 || strcmp(cmd, "pod") == 0)
		return client(cmd, argc, argv);
	usage();
}
