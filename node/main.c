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

#include "daemon.h"
#include "keygen.h"
#include "nonces.h"
#include "statedb.h"

#define EXIT_ERR	2

struct node *N;
static struct node node;

static const struct lines_ops sockets = {
	.line = node_line,
	.overlong = node_overlong,
	.turned_away = node_turned_away,
	.inflight_max = { NODE_INFLIGHT_MAX },
};
static ev_signal sigterm, sigint;

void
node_usage(void)
{
	fprintf(stderr,
	    "usage: nucleus-node serve [-B path] [-d dir] [-k keyfile] "
	    "[-K keyring] [-T trust] [-l socket] [-g group] [-P proxy] "
	    "[-W workroot] [-D seconds] [-w seconds] "
	    "[-G guest-dir] [-Q qemu]\n"
	    "       nucleus-node keygen [-d dir] [-k keyfile] kid\n"
	    "       nucleus-node pod [-j] [-l socket] -k keyfile "
	    "create spec.json | list | status pod | stop pod\n"
	    "       nucleus-node call [-j] [-l socket] [-a token-file] "
	    "-k keyfile pod op [args]\n"
	    "       nucleus-node approve [-j] [-A authority-socket] "
	    "[-r reason] [-w seconds] -k keyfile pod op [args]\n"
	    "       nucleus-node doctor [-j]\n");
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

/* The socket the client talks to when -l does not say. */
const char *
node_socket_default(void)
{
	return in_dir(dir_default(), "node.sock");
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

/* The node's own public key: what the pods' host copies verify with. */
static int
self_keyring(struct audit_keyring *kr, const struct audit_seckey *key,
    struct audit_err *err)
{
	char line[256];

	if (audit_keyring_line(key, NULL, line, sizeof(line)) != 0)
		return audit_errf(err, "the node's key is not an Ed25519 key");
	return audit_keyring_parse(kr, line, strlen(line), 0, err);
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
	    *trust = NULL, *sock = NULL, *proxy = NULL, *workroot = NULL,
	    *guest = NULL, *qemu = NULL;
	static char qemu_path[4096], fc_path[4096], why[512];
	char log_id[AUDIT_LOGID_MAX + 1], hash[AUDIT_HEX_LEN + 1], exe[4096];
	char *absdir;
	struct audit_err e;
	struct stat st;
	gid_t gid = (gid_t)-1;
	const struct statedb_dbi dbis[] = { { "nonces", &node.gate.nonces },
	    { "pods", &node.pods_dbi }, { NULL, NULL } };
	uint64_t seq;
	json_t *ev;
	int c;

	N = &node;
	N->gate.skew = GATE_SKEW;
	N->gate.line_max = GATE_LINE_MAX;
	N->fwd_deadline = NODE_FWD_DEADLINE;
	while ((c = getopt(argc, argv, "B:D:d:G:g:K:k:l:P:Q:T:W:w:")) != -1) {
		switch (c) {
		case 'B': add_bind(optarg); break;
		case 'D': N->fwd_deadline = atoi(optarg); break;
		case 'd': dir = optarg; break;
		case 'G': guest = optarg; break;
		case 'g': {
			struct group *gr = getgrnam(optarg);

			if (gr == NULL)
				node_usage();
			gid = gr->gr_gid;
			break;
		}
		case 'K': keyring = optarg; break;
		case 'k': keyfile = optarg; break;
		case 'l': sock = optarg; break;
		case 'P': proxy = optarg; break;
		case 'Q': qemu = optarg; break;
		case 'T': trust = optarg; break;
		case 'W': workroot = optarg; break;
		case 'w': N->gate.skew = atoi(optarg); break;
		default: node_usage();
		}
	}
	if (optind != argc || N->gate.skew < 1 || N->gate.skew > 3600 ||
	    N->fwd_deadline < 1 || N->fwd_deadline > NODE_FWD_DEADLINE_MAX)
		node_usage();
	/* The sandbox binds from the host's root: paths are absolute. */
	if ((absdir = realpath(dir, NULL)) == NULL) {
		fprintf(stderr, "nucleus-node: %s: %s\n", dir,
		    strerror(errno));
		return 1;
	}
	dir = absdir;
	keyfile = keyfile != NULL ? keyfile : in_dir(dir, "node.key");
	keyring = keyring != NULL ? keyring : in_dir(dir, "keyring");
	trust = trust != NULL ? trust : in_dir(dir, "trust");
	sock = sock != NULL ? sock : in_dir(dir, "node.sock");
	if (proxy == NULL) {
		ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 32);
		char *slash;

		if (n < 0)
			node_usage();
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
	    audit_keyring_load(&N->keys, keyring, &e) != 0 ||
	    self_keyring(&N->self, N->key, &e) != 0) {
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
	N->lenv.work_root = -1;
	/* The VM drivers: the guest image, QEMU, and KVM if it works. */
	if (guest != NULL) {
		if ((N->lenv.guest = realpath(guest, NULL)) == NULL) {
			fprintf(stderr, "nucleus-node: -G %s: %s\n", guest,
			    strerror(errno));
			return 1;
		}
		/* Absolute PATH entries only: never a program relative to
		 * where the node happens to run. */
		if (qemu == NULL && vm_which("qemu-system-x86_64", qemu_path,
		    sizeof(qemu_path)) == 0)
			qemu = qemu_path;
		N->lenv.qemu = qemu;
		if (vm_which("firecracker", fc_path, sizeof(fc_path)) == 0)
			N->lenv.firecracker = fc_path;
		N->lenv.kvm = doctor_kvm_usable(why, sizeof(why));
		vm_probe(&N->lenv);
		fprintf(stderr, "nucleus-node: VMs: %s, %s%s%s; %s\n",
		    qemu != NULL ? qemu : "no qemu-system-x86_64 on PATH",
		    N->lenv.kvm ? "KVM" : "TCG", N->lenv.kvm ? "" : ": ",
		    N->lenv.kvm ? "" : why, N->lenv.firecracker != NULL ?
		    N->lenv.firecracker : "no firecracker on PATH");
	}
	if (workroot != NULL && (N->lenv.work_root = open(workroot, O_RDONLY |
	    O_DIRECTORY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "nucleus-node: -W %s: %s\n", workroot,
		    strerror(errno));
		return 1;
	}
	if (statedb_open(&N->env, in_dir(dir, "state.mdb"), NODE_STATE_MAP,
	    dbis, &e) != 0) {
		fprintf(stderr, "nucleus-node: %s\n", e.msg);
		free(absdir);
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
	/* Not the default loop: it would reap the pods' inits (SIGCHLD)
	 * before their pidfds tell the reaper, which would lose their
	 * status. */
	N->loop = ev_loop_new(EVFLAG_AUTO);
	doneq_init(&N->done, N->loop, offsetof(struct njob, next), node_drain);
	ev_async_init(&N->copied_async, pods_copied);
	ev_async_start(N->loop, &N->copied_async);
	if (copyq_start(N->loop, &N->copied_async, &e) != 0) {
		fprintf(stderr, "nucleus-node: %s\n", e.msg);
		return 2;
	}
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
	podstate_recover();
	(void)replay_prune(N->env, N->gate.nonces, (int64_t)time(NULL) -
	    N->gate.skew - 1);
	fprintf(stderr, "nucleus-node: serving %s\n", sock);
	ev_run(N->loop, 0);
	pods_stop_all();
	copyq_stop();
	node_turned_away_record();
	node_flush(N->loop, &N->flush, 0);
	ev = json_pack("{s:s}", "event", "node.stop");
	(void)audit_log_append_wait(N->log, ev, &seq, hash, &e);
	json_decref(ev);
	(void)audit_log_close(N->log, &e);
	mdb_env_sync(N->env, 1);
	mdb_env_close(N->env);
	free(absdir);
	return 0;
}

static int
keygen(int argc, char **argv)
{
	const struct keygen kg = { "nucleus-node", dir_default(), "node.key",
	    "node", node_usage };

	return keygen_main(&kg, argc, argv);
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
	if (argc < 2)
		node_usage();
	cmd = argv[1];
	argc--;
	argv++;
	if (strcmp(cmd, "serve") == 0)
		return serve(argc, argv);
	if (strcmp(cmd, "keygen") == 0)
		return keygen(argc, argv);
	if (strcmp(cmd, "call") == 0 || strcmp(cmd, "pod") == 0 ||
	    strcmp(cmd, "approve") == 0)
		return client_main(cmd, argc, argv);
	if (strcmp(cmd, "doctor") == 0)
		return doctor(argc, argv);
	node_usage();
}
