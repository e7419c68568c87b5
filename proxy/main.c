/*
 * nucleus-proxy: the one place an agent's side effects happen.  See
 * nucleus-proxy(8).
 *
 * main() is the list of steps: options, the pod file and its paths, the
 * state, the spawner (forked before anything else has a thread or a
 * filter), a fresh audit key and log with its boot record, the
 * listeners, the proxy's own seccomp allowlist, and the event loop.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "exec.h"
#include "proxy.h"
#include "pstate.h"
#include "sandbox.h"
#include "spawn.h"
#include "usage.h"

#define EXIT_BADCONF	1
#define EXIT_ERR	2

struct proxy *P;
static struct proxy proxy;
static struct spawn_facts facts;
static ev_timer sync_timer;
static ev_signal sigterm, sigint;

static const char usage_text[] =
    "usage: nucleus-proxy [-ACn] [-E fd | -e port] [-f fd] [-G fd] "
    "[-l socket] [-v port] -p podfile\n"
    "       nucleus-proxy -I [-E fd | -e port] [-v port] [-p podfile]\n"
    "       nucleus-proxy --help | --version\n";

static void __attribute__((noreturn))
usage(void)
{
	usage_fail(usage_text);
}

static int
number(const char *s, int max)
{
	long long v;
	int rc;

	if ((rc = num_parse(s, 0, max, &v)) != NUM_OK) {
		fprintf(stderr, "nucleus-proxy: %s: %s: expected 0 to %d\n", s,
		    num_strerror(rc), max);
		usage();
	}
	return (int)v;
}

static void
options(int argc, char **argv, struct config *c)
{
	const char *pod = NULL;
	int ch;

	c->listen_fd = -1;
	c->vsock_port = -1;
	c->gateway_fd = -1;
	c->egress_port_fd = -1;
	c->egress_vsock = -1;
	while ((ch = getopt(argc, argv, "ACE:e:f:G:Il:np:v:")) != -1) {
		switch (ch) {
		case 'A':
			c->copy_audit = 1;
			break;
		case 'C':
			c->want_cert = 1;
			break;
		case 'E':
			/* A VM's egress port (egress_mux.c); under -I, where
			 * init puts it for the proxy proper. */
			c->egress_port_fd = number(optarg, INT_MAX);
			if (!c->init && fcntl(c->egress_port_fd, F_SETFD,
			    FD_CLOEXEC) != 0)
				err(EXIT_ERR, "-E %d", c->egress_port_fd);
			break;
		case 'e':
			/* Under Firecracker: a vsock connection to the host
			 * (CID 2) on this port per stream (egress_mux.c). */
			c->egress_vsock = number(optarg, INT_MAX);
			break;
		case 'f':
			c->listen_fd = number(optarg, INT_MAX);
			break;
		case 'G':
			/* The host's gateway: never a command's. */
			c->gateway_fd = number(optarg, INT_MAX);
			if (fcntl(c->gateway_fd, F_SETFD, FD_CLOEXEC) != 0)
				err(EXIT_ERR, "-G %d", c->gateway_fd);
			break;
		case 'I':
			c->init = 1;
			break;
		case 'l':
			c->socket_path = optarg;
			break;
		case 'n':
			c->check_only = 1;
			break;
		case 'p':
			pod = optarg;
			break;
		case 'v':
			c->vsock_port = number(optarg, INT_MAX);
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	c->podfile = pod;
	if (c->init) {
		/* Everything else is init_pid1()'s to set. */
		if (c->copy_audit || c->want_cert || c->check_only ||
		    c->listen_fd >= 0 || c->socket_path != NULL)
			usage();
		return;
	}
	if (pod == NULL)
		usage();
	if (!c->check_only && c->socket_path == NULL && c->listen_fd < 0 &&
	    c->vsock_port < 0)
		errx(EXIT_ERR, "nothing to listen on: give -l, -f or -v");
	if (c->copy_audit && (c->listen_fd < 0 || c->socket_path != NULL ||
	    c->vsock_port >= 0))
		errx(EXIT_ERR, "-A: the audit copy goes to -f's connection "
		    "alone");
}

/*
 * A log id for this boot: the node's choice, from the pod file; or, run
 * alone, the pod, the time, and a little chance.
 */
static int
make_log_id(struct proxy *p, struct audit_err *err)
{
	uint8_t r[2];

	if (p->cfg.log[0] != '\0')
		return audit_fit(p->log_id, sizeof(p->log_id), err, "%s",
		    p->cfg.log);

	randombytes_buf(r, sizeof(r));
	return audit_fit(p->log_id, sizeof(p->log_id), err, "%s.%lld.%02x%02x",
	    p->cfg.pod, (long long)time(NULL), r[0], r[1]);
}

/*
 * With -C: say our public key on stdout, and take the key-cert the node
 * signs for it from stdin (one line).  It must name our log and our key;
 * whoever verifies the log checks its signature.
 */
static json_t *
handshake(struct proxy *p)
{
	char b64[64], line[8192];
	json_t *cert, *v;

	audit_b64(b64, sizeof(b64), p->key->pk, AUDIT_PK_LEN);
	printf("{\"type\":\"hello\",\"v\":1,\"pod\":\"%s\",\"log\":\"%s\","
	    "\"pubkey\":\"%s\"}\n", p->cfg.pod, p->log_id, b64);
	if (fflush(stdout) != 0)
		err(EXIT_ERR, "-C: the hello");
	if (fgets(line, sizeof(line), stdin) == NULL)
		errx(EXIT_ERR, "-C: no key-cert on standard input");
	if ((cert = json_loads(line, JSON_REJECT_DUPLICATES, NULL)) == NULL ||
	    !json_is_object(cert))
		errx(EXIT_ERR, "-C: the key-cert is not a JSON object");
	v = json_object_get(cert, "type");
	if (!json_is_string(v) || strcmp(json_string_value(v), "key-cert"))
		errx(EXIT_ERR, "-C: not a key-cert");
	v = json_object_get(cert, "log");
	if (!json_is_string(v) || strcmp(json_string_value(v), p->log_id))
		errx(EXIT_ERR, "-C: the key-cert is for another log");
	v = json_object_get(cert, "pubkey");
	if (!json_is_string(v) || strcmp(json_string_value(v), b64))
		errx(EXIT_ERR, "-C: the key-cert is for another key");
	return cert;
}

/*
 * The most a previous log of this pod recorded as spent: its decision
 * records carry the running total.  Only the tail of the newest log is
 * read.
 */
static int64_t
spent_before(const char *dir, const char *pod)
{
	char path[PATH_MAX], best[PATH_MAX] = "", *buf, *p;
	struct dirent *de;
	time_t newest = 0;
	struct stat st;
	int64_t most = 0;
	size_t plen = strlen(pod);
	ssize_t n;
	DIR *d;
	int fd;

	if ((d = opendir(dir)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, pod, plen) != 0 ||
		    de->d_name[plen] != '.')
			continue;
		/* A name that does not fit is not this pod's log. */
		if (audit_fit(path, sizeof(path), NULL, "%s/%s", dir,
		    de->d_name) == 0 && stat(path, &st) == 0 &&
		    st.st_mtime >= newest) {
			newest = st.st_mtime;
			memcpy(best, path, sizeof(best));
		}
	}
	closedir(d);
	if (best[0] == '\0' || (fd = open(best, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	if ((buf = malloc(1024 * 1024 + 1)) != NULL && fstat(fd, &st) == 0) {
		off_t from = st.st_size > 1024 * 1024 ? st.st_size -
		    1024 * 1024 : 0;

		if ((n = pread(fd, buf, 1024 * 1024, from)) > 0) {
			buf[n] = '\0';
			for (p = buf; (p = strstr(p, "\"budget_used_microusd\":"));
			    p++) {
				unsigned long long v;

				if (num_parse_un(p + 23, strspn(p + 23,
				    "0123456789"), 0, INT64_MAX, &v) ==
				    NUM_OK && (int64_t)v > most)
					most = v;
			}
		}
	}
	free(buf);
	close(fd);
	return most;
}

static int
open_log(struct proxy *p, struct audit_err *err)
{
	char dir[PATH_MAX];
	json_t *cert = NULL;
	int rc;

	if (audit_fit(dir, sizeof(dir), err, "%s/audit", p->cfg.state) != 0)
		return -1;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return audit_errf(err, "%s: %s", dir, strerror(errno));
	pstate_floor(p->state, spent_before(dir, p->cfg.pod));
	if (audit_seckey_generate(&p->key, "pod-key", err) != 0 ||
	    make_log_id(p, err) != 0)
		return -1;
	if (p->cfg.want_cert)
		cert = handshake(p);
	if (audit_fit(p->log_path, sizeof(p->log_path), err, "%s/%s.log", dir,
	    p->log_id) != 0) {
		json_decref(cert);
		return -1;
	}
	rc = audit_log_open(&p->log, p->log_path, p->log_id, p->key, cert,
	    err);
	json_decref(cert);
	return rc;
}

static char *
policy_digest(const struct policy *pol)
{
	static char hex[AUDIT_HEX_LEN + 1];
	struct audit_buf b = { 0 };
	struct audit_err e;
	uint8_t h[AUDIT_HASH_LEN];
	char *dump = policy_dump(pol, 0);
	json_t *j = NULL;

	if (dump == NULL || cjson_parse(dump, strlen(dump), &j, &e) != 0 ||
	    cjson_encode(j, &b, &e) != 0)
		strcpy(hex, "unknown");
	else {
		audit_hash(h, b.p, b.len);
		audit_hex(hex, h, AUDIT_HASH_LEN);
	}
	json_decref(j);
	free(dump);
	audit_buf_free(&b);
	return hex;
}

/* The boot record: what this proxy is, and what it runs commands under. */
static int
boot_record(struct proxy *p, struct audit_err *err)
{
	const struct limits *l = &p->cfg.lim;
	struct utsname u;
	int64_t consumed, reserved;
	uint64_t seq;
	json_t *ev;
	int rc;

	if (uname(&u) != 0)
		return audit_errf(err, "uname: %s", strerror(errno));
	pstate_budget(p->state, &consumed, &reserved);
	ev = json_pack("{s:s, s:s, s:s, s:s, s:{s:I, s:I, s:I, s:I, s:i, "
	    "s:i, s:i, s:i, s:i, s:i, s:i}, s:{s:s, s:s}, s:{s:i, s:b, s:i, "
	    "s:b, s:b}, s:I, s:I}",
	    "event", "boot", "pod", p->cfg.pod,
	    "policy", p->cfg.policy.name[0] ? p->cfg.policy.name : "inline",
	    "policy_digest", policy_digest(&p->cfg.policy),
	    "limits", "request_line", (json_int_t)l->line,
	    "read", (json_int_t)l->read, "write", (json_int_t)l->write,
	    "output", (json_int_t)l->output, "timeout_default",
	    l->timeout_default, "timeout_max", l->timeout_max,
	    "commands", l->commands, "grep_matches", l->grep_matches,
	    "grep_seconds", l->grep_seconds, "refusals", l->refusals,
	    "refusal_seconds", l->refusal_seconds,
	    "kernel", "release", u.release, "machine", u.machine,
	    "sandbox", "landlock_abi", facts.landlock_abi,
	    "seccomp", facts.seccomp, "spawner", (int)facts.pid,
	    "run_as", p->cfg.run_as, "egress", p->cfg.egress,
	    "budget_limit_microusd", (json_int_t)p->cfg.policy.budget.limit,
	    "budget_used_microusd", (json_int_t)(consumed + reserved));
	if (ev == NULL)
		return audit_errf(err, "out of memory");
	rc = audit_log_append_wait(p->log, ev, &seq, NULL, err);
	json_decref(ev);
	return rc;
}

static void
sync_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	static int ticks;

	(void)loop;
	(void)w;
	(void)revents;
	/* A failed sync stays dirty and is tried again next second; the
	 * decision records carry the total meanwhile (pstate.c). */
	(void)pstate_sync(P->state);
	refusals_tick(0);
	/* Tokens past their exp are refused anyway: forget their nonces. */
	if (++ticks % 3600 == 0)
		pstate_prune(P->state, time(NULL) - P->cfg.skew - 60);
}

static void
stop_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

static void
start_loop(struct proxy *p)
{
	ev_timer_init(&sync_timer, sync_cb, 1.0, 1.0);
	ev_timer_start(p->loop, &sync_timer);
	ev_signal_init(&sigterm, stop_cb, SIGTERM);
	ev_signal_init(&sigint, stop_cb, SIGINT);
	ev_signal_start(p->loop, &sigterm);
	ev_signal_start(p->loop, &sigint);
}

int
main(int argc, char **argv)
{
	struct proxy *p = P = &proxy;
	struct audit_err e;
	int sock, hand;

	usage_std(argc, argv, "nucleus-proxy", usage_text);
	options(argc, argv, &p->cfg);
	if (p->cfg.init)
		init_pid1(&p->cfg);
	/*
	 * Answers of up to a few MiB are made and freed all the time: keep
	 * the heap rather than give it back and ask again for each.
	 */
	mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
	mallopt(M_MMAP_THRESHOLD, 8 * 1024 * 1024);
	if (sodium_init() < 0)
		errx(EXIT_ERR, "cannot initialize libsodium");
	if (config_load(&p->cfg, p->cfg.podfile, &e) != 0)
		errx(EXIT_BADCONF, "%s: %s", p->cfg.podfile, e.msg);
	if (config_check_paths(&p->cfg, &e) != 0)
		errx(EXIT_BADCONF, "%s: %s", p->cfg.podfile, e.msg);
	if (audit_keyring_load(&p->trust, p->cfg.trust, &e) != 0)
		errx(EXIT_BADCONF, "%s", e.msg);
	if (p->cfg.check_only)
		return 0;
	signal(SIGPIPE, SIG_IGN);
	if (resolve_open_root(&p->root, p->cfg.root, &p->cfg.policy,
	    &e) != 0 ||
	    pstate_open(&p->state, p->cfg.state, p->cfg.policy.budget.limit,
	    p->cfg.policy.budget.consumed, &e) != 0)
		errx(EXIT_ERR, "%s", e.msg);
	/* Before any thread and before our own filter, which has no exec. */
	if (spawn_start(&p->cfg, &sock, &facts, &e) != 0)
		errx(EXIT_ERR, "%s", e.msg);
	/* Not the default loop: that one would reap children (SIGCHLD). */
	if ((p->loop = ev_loop_new(EVFLAG_AUTO)) == NULL)
		errx(EXIT_ERR, "cannot make an event loop");
	doneq_init(&p->done, p->loop, offsetof(struct req, next),
	    record_drain);
	if (open_log(p, &e) != 0 || boot_record(p, &e) != 0)
		errx(EXIT_ERR, "audit log: %s", e.msg);
	if (fetch_init(e.msg, sizeof(e.msg)) != 0)
		errx(EXIT_ERR, "web_fetch: %s", e.msg);
	/* -G: the host's gateway itself, which may be handed a client */
	hand = p->cfg.gateway_fd >= 0;
	if (p->cfg.egress_port_fd >= 0 && p->cfg.gateway_fd < 0 &&
	    p->cfg.net != NULL && egress_mux_start(p->loop,
	    p->cfg.egress_port_fd, &p->cfg.gateway_fd, &e) != 0)
		errx(EXIT_ERR, "%s", e.msg);
	if (p->cfg.egress_vsock >= 0 && p->cfg.gateway_fd < 0 &&
	    p->cfg.net != NULL && egress_vsock_start(p->loop,
	    p->cfg.egress_vsock, &p->cfg.gateway_fd, &e) != 0)
		errx(EXIT_ERR, "%s", e.msg);
	if (exec_init(p, sock, &e) != 0 || worker_start(&e) != 0 ||
	    serve_listen(p, &e) != 0 ||
	    egress_listen(p->cfg.net, p->cfg.gateway_fd, hand, &e) != 0)
		errx(EXIT_ERR, "%s", e.msg);
	if (p->cfg.copy_audit && record_copy_start(p, &e) != 0)
		errx(EXIT_ERR, "%s", e.msg);
	start_loop(p);
	/* A vsock stream per connection needs socket and connect, as the
	 * HTTP client's does (the VM has no network device). */
	if (sandbox_self(p->cfg.net != NULL && (fetch_backend != NULL ||
	    p->cfg.egress_vsock >= 0), p->cfg.net != NULL &&
	    p->cfg.egress_port_fd >= 0, &e) != 0)
		errx(EXIT_ERR, "%s: refusing to run without it", e.msg);
	ev_run(p->loop, 0);
	refusals_tick(1);
	if (audit_log_close(p->log, &e) != 0)
		warnx("audit log: %s", e.msg);
	pstate_close(p->state);
	return 0;
}
