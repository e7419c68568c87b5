/*
 * nucleus-node serve: the daemon.  Its options, the state it opens (the
 * keys, the pods' directory, LMDB, its own audit log), the copier, the
 * socket, and the loop; each request line goes to request.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "doctor.h"
#include "serve.h"
#include "statedb.h"
#include "webconf.h"

#define EXIT_ERR	2

static struct node node;

static const struct lines_ops sockets = {
	.line = node_line,
	.overlong = node_overlong,
	.turned_away = node_turned_away,
	.privileged = node_privileged,
	.inflight_max = { NODE_INFLIGHT_MAX },
};
static ev_signal sigterm, sigint, sighup, sigusr1, sigusr2;

/* The records an operator sees on stderr as they are made (events.c),
 * and those counted: agents' refusals, a summary now and then. */
static const char *const said[] = { "node.start", "node.stop",
    "node.internal", "pod.create", "pod.refused", "pod.stop", "pod.exit",
    "pod.timeout", "pod.lost", "pod.adopt", "pod.audit_fault", "pod.stray_answers",
    "node.log_fault", NULL };
static const char *const counted[] = { "request.refused", NULL };

static int
pod_exists(void *arg, const char *pod)
{
	(void)arg;
	return pods_find(pod) != NULL;
}

static int
may_call(void *arg, const char *pod, const char *kid)
{
	struct pod *p = pods_find(pod);

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

	if (audit_keyring_line(key, "node", line, sizeof(line)) != 0)
		return audit_errf(err, "the node's key is not an Ed25519 key");
	return audit_keyring_parse(kr, line, strlen(line), 0, err);
}

/*
 * The trust file, read whole and parsed as a keyring: what every pod
 * started from now on is given.  *text is sodium-allocated.
 */
static int
trust_load(const char *path, char **text, size_t *len,
    struct audit_keyring *out, struct audit_err *err)
{
	struct audit_keyring kr = { 0, NULL };
	struct audit_err e;

	if (audit_read_keyfile(path, 0, text, len, err) != 0)
		return -1;
	if (audit_keyring_parse(&kr, *text, *len, 0, &e) != 0 ||
	    (node_roles_check(path, &kr, 1) != 0 && audit_errf(&e,
	    "a key's role is not authority (or none)") != 0)) {
		audit_keyring_free(&kr);
		sodium_free(*text);
		*text = NULL;
		return audit_errf(err, "%s: %s", path, e.msg);
	}
	*out = kr;	/* the gate checks tokens' signatures with it */
	return 0;
}

/*
 * SIGHUP: the keyring and the trust file read again.  Both parse, or
 * neither is taken and the old ones stay in force; either way it is said
 * on stderr and recorded.  Nothing holds a key of the old keyring across
 * the loop's turns (a request's signer is checked and its role copied at
 * once), so it can be freed here.
 */
static void
reload(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct audit_keyring kr = { 0, NULL }, tr = { 0, NULL };
	struct audit_err e;
	char *text = NULL;
	size_t len = 0;
	json_t *ev;

	(void)loop;
	(void)w;
	(void)revents;
	if (audit_keyring_load(&kr, N->keyring_path, &e) != 0 ||
	    (node_roles_check(N->keyring_path, &kr, 0) != 0 && audit_errf(&e,
	    "%s: a key's role is not admin or agent", N->keyring_path) !=
	    0) ||
	    trust_load(N->trust_path, &text, &len, &tr, &e) != 0) {
		audit_keyring_free(&kr);
		fprintf(stderr, "nucleus-node: reload refused, the keyring "
		    "and trust in force are kept: %s\n", e.msg);
		ev = json_pack("{s:s, s:s, s:s}", "event", "node.reload",
		    "status", "refused", "message", e.msg);
	} else {
		pthread_rwlock_wrlock(&N->gate.keys_lock);
		audit_keyring_free(&N->keys);
		N->keys = kr;
		audit_keyring_free(&N->trust);
		N->trust = tr;
		pthread_rwlock_unlock(&N->gate.keys_lock);
		sodium_free(N->lenv.trust_text);
		N->lenv.trust_text = text;
		N->lenv.trust_len = len;
		fprintf(stderr, "nucleus-node: reloaded %s (%zu keys) and %s\n",
		    N->keyring_path, N->keys.n, N->trust_path);
		ev = json_pack("{s:s, s:s, s:i}", "event", "node.reload",
		    "status", "ok", "keys", (int)N->keys.n);
	}
	node_record(NULL, ev, NULL);
}

static void
stop(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

/*
 * SIGUSR2: the node stops and leaves its pods running, for the
 * next node on this directory to take back (an upgrade, a restart:
 * nucleus-node(8)).
 */
static void
stop_leaving(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)w;
	(void)revents;
	N->leave_pods = 1;
	ev_break(loop, EVBREAK_ALL);
}

/* SIGUSR1: the node's log rotates now (nucleus-node(8)). */
static void
rotate(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct audit_err e;

	(void)loop;
	(void)w;
	(void)revents;
	if (N->log == NULL)
		fprintf(stderr, "nucleus-node: the audit log did not rotate: "
		    "it has stopped, and is not open again yet\n");
	else if (audit_log_rotate(N->log, &e) != 0)
		fprintf(stderr, "nucleus-node: the audit log did not rotate: "
		    "%s\n", e.msg);
	else
		fprintf(stderr, "nucleus-node: the audit log rotated: "
		    "generation %llu\n",
		    (unsigned long long)audit_log_generation(N->log));
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

/*
 * -S: web_search's backend, a URL template; -A: a PEM file of CAs
 * web_fetch trusts beside the system's.  Both checked now, given to every
 * pod in its pod file (local.c), never taken from a spec.
 */
static void
web_options(const char *search, const char *cafile)
{
	static char ca[FETCH_CA_MAX + 2];
	char why[256];
	size_t n = 0;
	FILE *f;

	if (search != NULL && webconf_search_check(search, why,
	    sizeof(why)) != 0) {
		fprintf(stderr, "nucleus-node: -S %s: %s\n", search, why);
		exit(EXIT_ERR);
	}
	if (cafile != NULL) {
		if ((f = fopen(cafile, "re")) == NULL) {
			fprintf(stderr, "nucleus-node: -A %s: %s\n", cafile,
			    strerror(errno));
			exit(EXIT_ERR);
		}
		n = fread(ca, 1, sizeof(ca) - 1, f);
		fclose(f);
		ca[n] = '\0';
		if (webconf_ca_check(ca, n, why, sizeof(why)) != 0) {
			fprintf(stderr, "nucleus-node: -A %s: %s\n", cafile,
			    why);
			exit(EXIT_ERR);
		}
	}
	local_web(search, cafile != NULL ? ca : NULL);
}

/* What serve's options say, the defaults filled in. */
struct serve_opts {
	const char *dir, *keyfile, *keyring, *trust, *sock, *proxy;
	const char *workroot, *guest, *qemu;
	const char *search, *cafile;	/* -S, -A */
	gid_t	 gid;		/* -g: the socket's group, or -1 */
	int	 check_only;	/* -n: check, say, exit */
	char	*absdir;	/* dir, absolute: the sandbox binds from / */
	char	 exe[4096];	/* the nucleus-proxy beside this program */
};

/* The number given to option opt, from min to max, or a usage error. */
static int
opt_num(int opt, const char *s, int min, int max, const char *unit)
{
	long long v;
	int rc;

	if ((rc = num_parse(s, min, max, &v)) != NUM_OK) {
		fprintf(stderr, "nucleus-node: -%c %s: %s: expected %d to %d "
		    "%s\n", opt, s, num_strerror(rc), min, max, unit);
		node_usage();
	}
	return (int)v;
}

static void
serve_options(int argc, char **argv, struct serve_opts *o)
{
	struct group *gr;
	int c;

	o->dir = node_dir_default();
	o->gid = (gid_t)-1;
	N->gate.skew = GATE_SKEW;
	N->gate.line_max = GATE_LINE_MAX;
	N->fwd_deadline = NODE_FWD_DEADLINE;
	N->copy_mib = POD_COPY_MIB_DEFAULT;
	N->in_total = (size_t)NODE_POD_IN_TOTAL * 1024 * 1024;
	N->lines.idle_s = NODE_IDLE_S;
	N->lines.line_s = NODE_LINE_S;
	N->log_rotate_kb = NODE_LOG_ROTATE_KB;
	while ((c = getopt(argc, argv, "A:a:B:C:D:d:G:g:H:i:K:k:l:M:nP:Q:R:S:s:T:W:w:"))
	    != -1) {
		switch (c) {
		case 'A': o->cafile = optarg; break;
		case 'a': N->authority_sock = optarg; break;
		case 'B': add_bind(optarg); break;
		case 'C':
			N->copy_mib = (uint64_t)opt_num(c, optarg, 1,
			    POD_COPY_MIB_MAX, "MiB");
			break;
		case 'D':
			N->fwd_deadline = opt_num(c, optarg, 1,
			    NODE_FWD_DEADLINE_MAX, "seconds");
			break;
		case 'd': o->dir = optarg; break;
		case 'G': o->guest = optarg; break;
		case 'g':
			if ((gr = getgrnam(optarg)) == NULL) {
				fprintf(stderr, "nucleus-node: -g %s: no such "
				    "group\n", optarg);
				node_usage();
			}
			o->gid = gr->gr_gid;
			break;
		case 'H': N->lenv.egress_hosts = optarg; break;
		case 'i':
			N->lines.idle_s = opt_num(c, optarg, 1,
			    NODE_CONN_S_MAX, "seconds");
			break;
		case 'K': o->keyring = optarg; break;
		case 'k': o->keyfile = optarg; break;
		case 'l': o->sock = optarg; break;
		case 'M':
			N->in_total = (size_t)opt_num(c, optarg,
			    NODE_POD_IN_MIN, NODE_POD_IN_MAX, "MiB") * 1024 *
			    1024;
			break;
		case 'n': o->check_only = 1; break;
		case 'P': o->proxy = optarg; break;
		case 'Q': o->qemu = optarg; break;
		case 'R':
			N->log_rotate_kb = opt_num(c, optarg, 0,
			    NODE_LOG_ROTATE_KB_MAX, "KiB");
			break;
		case 'S': o->search = optarg; break;
		case 's':
			N->lines.line_s = opt_num(c, optarg, 1,
			    NODE_CONN_S_MAX, "seconds");
			break;
		case 'T': o->trust = optarg; break;
		case 'W': o->workroot = optarg; break;
		case 'w':
			N->gate.skew = opt_num(c, optarg, 1, 3600, "seconds");
			break;
		default: node_usage();
		}
	}
	if (optind != argc)
		node_usage();
	web_options(o->search, o->cafile);
}

/* The directory made absolute, and each path it holds by default: 1 if
 * it cannot be. */
static int
serve_paths(struct serve_opts *o)
{
	ssize_t n;
	char *slash;

	/* The sandbox binds from the host's root: paths are absolute. */
	if ((o->absdir = realpath(o->dir, NULL)) == NULL) {
		fprintf(stderr, "nucleus-node: %s: %s\n", o->dir,
		    strerror(errno));
		return 1;
	}
	o->dir = o->absdir;
	o->keyfile = o->keyfile != NULL ? o->keyfile : node_path(o->dir,
	    "node.key");
	o->keyring = o->keyring != NULL ? o->keyring : node_path(o->dir,
	    "keyring");
	o->trust = o->trust != NULL ? o->trust : node_path(o->dir, "trust");
	o->sock = o->sock != NULL ? o->sock : node_path(o->dir, "node.sock");
	if (o->proxy == NULL) {
		if ((n = readlink("/proc/self/exe", o->exe, sizeof(o->exe) -
		    32)) < 0)
			node_usage();
		o->exe[n] = '\0';
		if ((slash = strrchr(o->exe, '/')) != NULL)
			strcpy(slash + 1, "nucleus-proxy");
		o->proxy = o->exe;
	}
	return 0;
}

/* The keys, the pods' directory (the directory is serve_precheck's). */
static int
serve_keys(const struct serve_opts *o)
{
	struct audit_err e;

	if (audit_fit(N->keyring_path, sizeof(N->keyring_path), &e, "%s",
	    o->keyring) != 0 || audit_fit(N->trust_path,
	    sizeof(N->trust_path), &e, "%s", o->trust) != 0) {
		fprintf(stderr, "nucleus-node: %s\n", e.msg);
		return 2;
	}
	if (audit_seckey_load(&N->key, o->keyfile, &e) != 0 ||
	    audit_keyring_load(&N->keys, o->keyring, &e) != 0 ||
	    trust_load(o->trust, &N->lenv.trust_text, &N->lenv.trust_len,
	    &N->trust, &e) != 0 ||
	    self_keyring(&N->self, N->key, &e) != 0) {
		fprintf(stderr, "nucleus-node: %s\n", e.msg);
		return 1;
	}
	if (audit_fit(N->pods_dir, sizeof(N->pods_dir), &e, "%s/pods",
	    o->dir) != 0) {
		fprintf(stderr, "nucleus-node: -d: %s\n", e.msg);
		return 2;
	}
	if (mkdir(N->pods_dir, 0711) != 0 && errno != EEXIST) {
		fprintf(stderr, "nucleus-node: %s: %s\n", N->pods_dir,
		    strerror(errno));
		return 2;
	}
	return 0;
}

/* The VM drivers: the guest image, QEMU, and KVM if it works. */
static int
serve_vms(struct local_env *env, const char *guest, const char *qemu)
{
	static char qemu_path[4096], fc_path[4096];
	char why[512];

	if ((env->guest = realpath(guest, NULL)) == NULL) {
		fprintf(stderr, "nucleus-node: -G %s: %s\n", guest,
		    strerror(errno));
		return -1;
	}
	/* Absolute PATH entries only: never a program relative to where
	 * the node happens to run. */
	if (qemu == NULL && vm_which("qemu-system-x86_64", qemu_path,
	    sizeof(qemu_path)) == 0)
		qemu = qemu_path;
	env->qemu = qemu;
	if (vm_which("firecracker", fc_path, sizeof(fc_path)) == 0)
		env->firecracker = fc_path;
	env->kvm = kvm_usable(why, sizeof(why));
	vm_probe(env);
	fprintf(stderr, "nucleus-node: VMs: %s, %s%s%s; %s\n",
	    qemu != NULL ? qemu : "no qemu-system-x86_64 on PATH",
	    env->kvm ? "KVM" : "TCG", env->kvm ? "" : ": ",
	    env->kvm ? "" : why, env->firecracker != NULL ?
	    env->firecracker : "no firecracker on PATH");
	return 0;
}

/* What every pod is started with: the drivers' environment. */
static int
serve_drivers(const struct serve_opts *o)
{
	struct local_env *env = &N->lenv;

	env->proxy = o->proxy;
	env->trust = N->trust_path;
	env->node_key = N->key;
	env->uid = POD_UID;
	env->gid = POD_UID;
	env->binds[0] = "/usr";
	env->binds[1] = "/bin";
	env->binds[2] = "/lib";
	env->binds[3] = "/lib64";
	env->work_root = -1;
	if (o->guest != NULL && serve_vms(env, o->guest, o->qemu) != 0)
		return 1;
	if (o->workroot != NULL && (env->work_root = open(o->workroot,
	    O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "nucleus-node: -W %s: %s\n", o->workroot,
		    strerror(errno));
		return 1;
	}
	return 0;
}

/*
 * LMDB's state (the seen nonces, the approval tokens forwarded, the
 * pods), the gate, the node's log.
 */
static int
serve_state(const char *dir)
{
	struct audit_err e;

	if (audit_fit(N->state_path, sizeof(N->state_path), &e, "%s",
	    node_path(dir, "state.mdb")) != 0 || node_state_open(&e) != 0) {
		fprintf(stderr, "nucleus-node: %s\n", e.msg);
		return 2;
	}
	N->gate.keys = &N->keys;
	N->gate.trust = &N->trust;
	pthread_rwlock_init(&N->gate.keys_lock, NULL);
	N->gate.pod_exists = pod_exists;
	N->gate.may_call = may_call;
	if (audit_fit(N->log_id, sizeof(N->log_id), &e, "node-%s",
	    N->key->kid) != 0 ||
	    audit_fit(N->log_path, sizeof(N->log_path), &e, "%s",
	    node_path(dir, "audit.log")) != 0 ||
	    audit_log_open(&N->log, N->log_path, N->log_id, N->key, NULL,
	    &e) != 0 ||
	    audit_log_rotation(N->log, (off_t)N->log_rotate_kb * 1024,
	    &e) != 0) {
		fprintf(stderr, "nucleus-node: %s\n", e.msg);
		return 2;
	}
	return 0;
}

/* The loop and its watchers: records done, copies done, the tick. */
static int
serve_loop(void)
{
	struct audit_err e;

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
	ev_async_init(&N->checked_async, gateq_checked);
	ev_async_start(N->loop, &N->checked_async);
	if (gateq_start(&N->checked_async, &e) != 0) {
		fprintf(stderr, "nucleus-node: %s\n", e.msg);
		return 2;
	}
	ev_async_init(&N->synced_async, node_synced);
	ev_async_start(N->loop, &N->synced_async);
	if (nsync_start(&N->synced_async, &e) != 0 ||
	    nsync_env(N->env, &e) != 0) {
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
	ev_signal_init(&sighup, reload, SIGHUP);
	ev_signal_start(N->loop, &sighup);
	ev_signal_init(&sigusr1, rotate, SIGUSR1);
	ev_signal_start(N->loop, &sigusr1);
	ev_signal_init(&sigusr2, stop_leaving, SIGUSR2);
	ev_signal_start(N->loop, &sigusr2);
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

/* The socket clients talk to. */
static int
serve_listen(const char *sock, gid_t gid)
{
	struct audit_err e;

	N->lines.loop = N->loop;
	N->lines.ops = &sockets;
	N->lines.line_max = N->gate.line_max;
	N->lines.outbuf_max = NODE_OUTBUF_MAX;
	N->lines.conns_max = NODE_CONNS_MAX;
	N->lines.conns_reserve = NODE_CONNS_RESERVE;
	N->lines.conns_per_uid = NODE_CONNS_PER_UID;
	N->lines.outbuf_total = NODE_OUTBUF_TOTAL;
	N->lines.outbuf_shed = NODE_OUTBUF_SHED;
	if (lines_listen_unix(&N->lines, 0, sock, gid, &e) != 0) {
		fprintf(stderr, "nucleus-node: %s\n", e.msg);
		return 2;
	}
	return 0;
}

/* node.start, durable before anything is served; the pods found again. */
static int
serve_start(void)
{
	char hash[AUDIT_HEX_LEN + 1];
	struct audit_err e;
	uint64_t seq;
	json_t *ev;
	int rc;

	ev = json_pack("{s:s, s:I, s:i}", "event", "node.start", "pid",
	    (json_int_t)getpid(), "keys", (int)N->keys.n);
	rc = audit_log_append_wait(N->log, ev, &seq, hash, &e);
	if (rc == 0)
		events_record(&N->events, ev);
	json_decref(ev);
	if (rc != 0) {
		fprintf(stderr, "nucleus-node: %s\n", e.msg);
		return 2;
	}
	podstate_recover();
	gate_prune(&N->gate, (int64_t)time(NULL));
	return 0;
}

/* The loop has ended: the pods stopped, the last records, node.stop. */
static void
serve_stop(void)
{
	char hash[AUDIT_HEX_LEN + 1];
	struct audit_err e;
	uint64_t seq;
	json_t *ev;
	int left = 0;

	gateq_stop();
	if (N->leave_pods)
		left = pods_leave_all();
	else
		pods_stop_all();
	approvals_stop_all();
	copyq_stop();
	node_turned_away_record();
	rwin_tick(&N->refusals, (int64_t)time(NULL), 1);
	node_flush(N->loop, &N->flush, 0);
	nsync_wait();
	node_synced_run();
	nsync_stop();
	events_flush(&N->events);
	ev = json_pack("{s:s}", "event", "node.stop");
	if (ev != NULL && N->leave_pods)
		json_object_set_new(ev, "pods_left", json_integer(left));
	if (N->log != NULL) {
		if (audit_log_append_wait(N->log, ev, &seq, hash, &e) == 0)
			events_record(&N->events, ev);
		(void)audit_log_close(N->log, &e);
	}
	json_decref(ev);
	for (int i = 0; i < N->nheld; i++)
		json_decref(N->held[i]);
	if (N->env != NULL) {
		mdb_env_sync(N->env, 1);
		mdb_env_close(N->env);
	}
	sodium_free(N->lenv.trust_text);
	N->lenv.trust_text = NULL;
	audit_keyring_free(&N->trust);
}

/*
 * The configuration and the host, checked (precheck.c): 0 when all is
 * well, else 1 and every problem said.  -n: only this, then exit.
 */
static int
serve_precheck(const struct serve_opts *o)
{
	const struct precheck pc = { o->dir, o->keyfile, o->keyring, o->trust,
	    o->proxy, o->guest };
	size_t bad = node_precheck(&pc);

	if (bad != 0)
		fprintf(stderr, "nucleus-node: %zu problem%s in the "
		    "configuration: %s\n", bad, bad == 1 ? "" : "s",
		    o->check_only ? "not good" : "refusing to start");
	else if (o->check_only)
		fprintf(stderr, "nucleus-node: the configuration is good\n");
	return bad != 0;
}

/*
 * nucleus-node serve, step by step: options, the paths they name, the
 * checks (all of them, or only them with -n), the keys, the drivers'
 * environment, the state and log, the loop, the socket, node.start,
 * then serve until SIGTERM or SIGINT (the pods stopped too) or SIGUSR2
 * (they are left running).
 */
int
node_serve(int argc, char **argv, void (*notify)(const char *))
{
	struct serve_opts o = { 0 };
	int rc;

	N = &node;
	events_init(&N->events, "nucleus-node", said, counted);
	rwin_init(&N->refusals, node_refusals_record, NULL);
	serve_options(argc, argv, &o);
	if ((rc = serve_paths(&o)) != 0 ||
	    (rc = serve_precheck(&o)) != 0 || o.check_only ||
	    (rc = serve_keys(&o)) != 0 ||
	    (rc = serve_drivers(&o)) != 0 ||
	    (rc = serve_state(o.dir)) != 0 ||
	    (rc = serve_loop()) != 0 ||
	    (rc = serve_listen(o.sock, o.gid)) != 0 ||
	    (rc = serve_start()) != 0) {
		free(o.absdir);
		return rc;
	}
	fprintf(stderr, "nucleus-node: serving %s\n", o.sock);
	notify("READY=1");
	ev_run(N->loop, 0);
	notify("STOPPING=1");
	serve_stop();
	free(o.absdir);
	return 0;
}
