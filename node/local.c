/*
 * The local driver: a pod is nucleus-proxy in the process sandbox.
 *
 *	<dir>/conf/pod.json	the proxy's pod file: its pod, policy, and
 *	<dir>/conf/trust	the authority keys, both owned by the uid the
 *				pod's uid 0 maps to, read-only inside at
 *				/etc/nucleus
 *	<dir>/proxy.err		what the proxy says on its standard error
 *
 * dir is mode 0711 and its parents must be searchable too: the sandbox's
 * init, as the pod's uid, binds conf from there.
 *
 * The proxy starts with -C: it makes a fresh audit key, says hello on
 * its standard output with the key and its log's id, and waits on its
 * standard input for the node's key-cert, which the node signs with its
 * own key; so the pod's log verifies with the node's key alone.  Then
 * it serves the node on the pod's one channel, <dir>/chan.sock: the node
 * makes that socket (mode 0600, its own uid, in dir, which the pod does
 * not see) and passes it listening as descriptor 3; it connects to it
 * now, and again when a node restarts and takes the pod back.  Each
 * connection begins with the node's word on what its copy of the pod's
 * log holds (audit.resume), from which the proxy sends the log on.  The log's
 * id is the node's choice, in the pod file; a hello naming another is
 * refused and nothing is certified: a proxy hostile from its start
 * gets no key-cert under another pod's log id.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "node.h"
#include "sockaddr.h"

static int
write_owned(const char *path, const char *text, size_t len, uid_t uid,
    gid_t gid, struct audit_err *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC, 0600);

	if (fd < 0)
		return audit_errf(err, "%s: %s", path, strerror(errno));
	if (audit_writeall(fd, text, len) != 0 || fchown(fd, uid, gid) != 0 ||
	    fsync(fd) != 0) {
		audit_errf(err, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* serve -S and -A: what every pod file says of the web (webconf.h). */
static const char *web_search_url, *web_ca;

void
local_web(const char *search_url, const char *ca)
{
	web_search_url = search_url;
	web_ca = ca;
}

/*
 * The proxy's pod file, from the spec; with run_uid (not 0), its
 * commands run as that uid and gid (a VM's guest, where the proxy is
 * root).  Its text, malloc'd, or NULL.
 */
char *
local_pod_file(const struct podspec *spec, uid_t run_uid, gid_t run_gid,
    size_t *len, struct audit_err *err)
{
	struct audit_buf b = { 0 };
	json_t *o;

	o = json_pack("{s:i, s:s, s:O, s:s, s:s, s:s, s:[s,s], s:{s:i}}", "v",
	    1, "pod", spec->name, "policy", spec->policy, "root", "/work",
	    "state", "/var/lib/nucleus", "trust", "/etc/nucleus/trust",
	    "path", "/usr/bin", "/bin", "limits", "commands",
	    (int)spec->lim.commands);
	if (o != NULL && spec->network != NULL)
		json_object_set(o, "network", spec->network);
	if (o != NULL && web_search_url != NULL)
		json_object_set_new(o, "search_url",
		    json_string(web_search_url));
	if (o != NULL && web_ca != NULL)
		json_object_set_new(o, "fetch_ca", json_string(web_ca));
	if (o != NULL && spec->log[0] != '\0')
		json_object_set_new(o, "log", json_string(spec->log));
	if (o != NULL && run_uid != 0)
		json_object_set_new(o, "run_as", json_pack("{s:I, s:I}",
		    "uid", (json_int_t)run_uid, "gid", (json_int_t)run_gid));
	if (o == NULL || cjson_encode(o, &b, err) != 0 ||
	    audit_buf_add(&b, "\n", 1) != 0) {
		json_decref(o);
		audit_buf_free(&b);
		audit_errf(err, "cannot make the pod file");
		return NULL;
	}
	json_decref(o);
	*len = b.len;
	return b.p;
}

static int
pod_file(const struct podspec *spec, const char *path, uid_t uid, gid_t gid,
    struct audit_err *err)
{
	size_t len;
	char *text = local_pod_file(spec, 0, 0, &len, err);
	int rc;

	if (text == NULL)
		return -1;
	rc = write_owned(path, text, len, uid, gid, err);
	free(text);
	return rc;
}

/* One line from fd within the deadline (milliseconds from now). */
static int
read_line_within(int fd, char *buf, size_t sz, int ms)
{
	int64_t end = audit_now_ms(CLOCK_MONOTONIC) + ms;
	size_t n = 0;

	while (n + 1 < sz) {
		struct pollfd p = { fd, POLLIN, 0 };
		int64_t left = end - audit_now_ms(CLOCK_MONOTONIC);

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return -1;
		if (read(fd, buf + n, 1) != 1)
			return -1;
		if (buf[n] == '\n') {
			buf[n] = '\0';
			return 0;
		}
		n++;
	}
	return -1;
}

/*
 * The proxy's hello (a line, without its newline): its log and key.  Its
 * log must be pod->log, the node's choice.  Fills pod->pubkey, and cert
 * with the key-cert line the node signs for them.
 */
int
local_hello(struct local_pod *pod, const struct local_env *env,
    const char *line, struct audit_buf *b, struct audit_err *err)
{
	json_error_t jerr;
	json_t *h = NULL, *cert = NULL;
	const char *pk;
	int rc = -1;

	if ((h = json_loads(line, JSON_REJECT_DUPLICATES, &jerr)) == NULL ||
	    !json_is_string(json_object_get(h, "log")) ||
	    /* a file name of the host copy: never a path, never cut */
	    !audit_logid_valid(json_string_value(json_object_get(h, "log")),
	    json_string_length(json_object_get(h, "log"))) ||
	    !json_is_string(json_object_get(h, "pod")) ||
	    strcmp(json_string_value(json_object_get(h, "pod")),
	    pod->name) != 0 ||
	    (pk = json_string_value(json_object_get(h, "pubkey"))) == NULL ||
	    audit_unb64(pod->pubkey, AUDIT_PK_LEN, pk, strlen(pk)) != 0) {
		audit_errf(err, "the proxy's hello is not one");
		goto out;
	}
	if (pod->log[0] == '\0' || strcmp(json_string_value(json_object_get(h,
	    "log")), pod->log) != 0) {
		audit_errf(err, "the proxy's hello names log %s, not the one "
		    "the node chose (%s): no key-cert is made for it",
		    json_string_value(json_object_get(h, "log")), pod->log);
		goto out;
	}
	if ((cert = audit_key_cert(env->node_key, pod->log, pod->pubkey,
	    (int64_t)time(NULL), err)) == NULL ||
	    cjson_encode(cert, b, err) != 0 || audit_buf_add(b, "\n", 1) != 0)
		goto out;
	rc = 0;
out:
	json_decref(cert);
	json_decref(h);
	return rc;
}

/* hello in, the node's key-cert out. */
static int
handshake(struct local_pod *pod, const struct local_env *env, int io,
    struct audit_err *err)
{
	char line[HELLO_MAX];
	struct audit_buf b = { 0 };
	int rc = -1;

	if (read_line_within(io, line, sizeof(line), LOCAL_HELLO_MS) != 0) {
		audit_errf(err, "the proxy said no hello within %d ms (see "
		    "%s/proxy.err)", LOCAL_HELLO_MS, pod->dir);
		return -1;
	}
	if (local_hello(pod, env, line, &b, err) == 0) {
		if (audit_writeall(io, b.p, b.len) == 0)
			rc = 0;
		else
			audit_errf(err, "the proxy took no key-cert: %s",
			    strerror(errno));
	}
	audit_buf_free(&b);
	return rc;
}

/* work.copy: into the pod's /work, through its init's root. */
static int
work_in(const struct podspec *spec, const struct local_env *env,
    struct local_pod *pod, struct audit_err *err)
{
	char path[64];
	int dst;

	if (env->work_root < 0)
		return audit_errf(err, "work.copy: the node has no work root "
		    "(serve -W)");
	if (audit_fit(path, sizeof(path), err, "/proc/%d/root/work",
	    (int)pod->sb.pid) != 0)
		return -1;
	if ((dst = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return audit_errf(err, "%s: %s", path, strerror(errno));
	return work_copy(env->work_root, spec, dst, env->uid, env->gid,
	    &pod->work_left_out, err);
}

/*
 * The pod's configuration directory, dir/conf, which the sandbox binds
 * at /etc/nucleus: its pod file and the authority keys, the pod's uid's.
 */
static int
local_conf(const struct podspec *spec, const struct local_env *env,
    const char *dir, const char *conf, struct audit_err *err)
{
	char path[LOCAL_PATH_MAX + 16];

	/* The pod's uid must reach conf: dir is searchable, not readable. */
	if ((mkdir(dir, 0711) != 0 && errno != EEXIST) ||
	    chmod(dir, 0711) != 0 ||
	    (mkdir(conf, 0700) != 0 && errno != EEXIST) ||
	    chown(conf, env->uid, env->gid) != 0 || chmod(conf, 0700) != 0)
		return audit_errf(err, "%s: %s", conf, strerror(errno));
	if (audit_fit(path, sizeof(path), err, "%s/pod.json", conf) != 0)
		return -1;
	if (pod_file(spec, path, env->uid, env->gid, err) != 0)
		return -1;
	if (audit_fit(path, sizeof(path), err, "%s/trust", conf) != 0)
		return -1;
	return write_owned(path, env->trust_text, env->trust_len, env->uid,
	    env->gid, err);
}

/*
 * The pod's names: the program as the sandbox binds it, its unique
 * cgroup, its directory and conf beneath it.
 */
static int
local_names(const struct podspec *spec, const struct local_env *env,
    const char *dir, struct local_pod *pod, char *exe, char *conf,
    struct audit_err *err)
{
	const char *base = strrchr(env->proxy, '/');

	/* The sandbox binds the program under its own name. */
	if (audit_fit(exe, LOCAL_PATH_MAX, err, SANDBOX_EXE_DIR "/%s",
	    base != NULL ? base + 1 : env->proxy) != 0)
		return -1;
	if (dir[0] != '/' || env->proxy[0] != '/')
		return audit_errf(err, "the pod's directory and the proxy "
		    "must be absolute paths");
	/* Another node, or a pod of this name not yet emptied, never
	 * shares the cgroup. */
	if (audit_fit(pod->name, sizeof(pod->name), err, "%s",
	    spec->name) != 0 ||
	    audit_fit(pod->cgroup, sizeof(pod->cgroup), err, "%s.%08x",
	    spec->name, (unsigned)randombytes_random()) != 0 ||
	    audit_fit(pod->log, sizeof(pod->log), err, "%s", spec->log) != 0 ||
	    audit_fit(pod->dir, sizeof(pod->dir), err, "%s", dir) != 0 ||
	    audit_fit(conf, LOCAL_PATH_MAX, err, "%s/conf", dir) != 0)
		return -1;
	return 0;
}

/* The pod's channel, in its directory: chan.sock. */
static int
chan_addr(const char *dir, struct sockaddr_un *sa, char *path, size_t sz,
    struct audit_err *err)
{
	if (audit_fit(path, sz, err, "%s/" LOCAL_CHAN_NAME, dir) != 0)
		return -1;
	return sockaddr_un_fill(sa, path, err);
}

/*
 * The channel's socket, listening: the node's uid's, mode 0600.  A
 * stale one (an earlier pod of the name) is replaced; nothing else is.
 */
static int
chan_listen(const char *dir, struct audit_err *err)
{
	char path[LOCAL_PATH_MAX + 16];
	struct sockaddr_un sa;
	struct stat st;
	mode_t old;
	int fd, rc;

	if (chan_addr(dir, &sa, path, sizeof(path), err) != 0)
		return -1;
	if (lstat(path, &st) == 0 && (!S_ISSOCK(st.st_mode) ||
	    unlink(path) != 0))
		return audit_errf(err, "%s: in the way", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return audit_errf(err, "socket: %s", strerror(errno));
	old = umask(077);
	rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc != 0 || chmod(path, 0600) != 0 ||
	    listen(fd, LOCAL_CHAN_BACKLOG) != 0) {
		audit_errf(err, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * The node's first word on a pod's channel, at each connection: what
 * its copy of the log holds (every record up to seq; -1: none).  A line
 * on a new connection: the socket's buffer takes it whole.
 */
int
local_resume(int fd, const char *log, int64_t seq, const char *path,
    struct audit_err *err)
{
	struct audit_buf b = { 0 };
	json_t *o;
	int rc = -1;

	o = json_pack("{s:s, s:I, s:s, s:i}", "log", log, "seq",
	    (json_int_t)seq, "type", "audit.resume", "v", 1);
	if (o != NULL && cjson_encode(o, &b, err) == 0 &&
	    audit_buf_add(&b, "\n", 1) == 0 &&
	    write(fd, b.p, b.len) == (ssize_t)b.len)
		rc = 0;
	else
		audit_errf(err, "%s: the node's word did not go", path);
	json_decref(o);
	audit_buf_free(&b);
	return rc;
}

/*
 * Connect to a pod's channel and say what the host copy holds.  The
 * socket must be the node's own, as chan_listen made it.  The
 * descriptor, non-blocking; or -1.
 */
int
local_connect(const struct local_pod *pod, int64_t seq, struct audit_err *err)
{
	char path[LOCAL_PATH_MAX + 16];
	struct sockaddr_un sa;
	struct stat st;
	int fd;

	if (chan_addr(pod->dir, &sa, path, sizeof(path), err) != 0)
		return -1;
	if (lstat(path, &st) != 0 || !S_ISSOCK(st.st_mode) ||
	    st.st_uid != geteuid() || (st.st_mode & 077) != 0)
		return audit_errf(err, "%s: not the channel the node made",
		    path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) < 0)
		return audit_errf(err, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		audit_errf(err, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (local_resume(fd, pod->log, seq, path, err) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * The proxy started in the sandbox sp describes, its standard error to
 * dir/proxy.err (drain.c), its channel's listening socket and its
 * standard input and output io[1]; those closed once it has them.
 */
static int
local_spawn(struct sandbox_spec *sp, const char *dir, struct local_pod *pod,
    int io[2], int gw, struct audit_err *err)
{
	char path[LOCAL_PATH_MAX + 16];
	int errfd, lfd = -1, rc = -1;

	if (audit_fit(path, sizeof(path), err, "%s/proxy.err", dir) != 0)
		return -1;
	/* Through the node, which writes at most POD_LOG_MAX of it. */
	if ((errfd = drain_open(path, dir, err)) < 0)
		return -1;
	if ((lfd = chan_listen(dir, err)) < 0)
		goto out;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, io) != 0) {
		audit_errf(err, "socketpair: %s", strerror(errno));
		goto out;
	}
	sp->fds[0] = lfd;
	sp->fds[1] = gw;	/* -G 4, or -1 */
	sp->fds[2] = -1;
	sp->set_stdio = 1;
	sp->stdio[0] = sp->stdio[1] = io[1];
	sp->stdio[2] = errfd;
	if (sandbox_start(sp, &pod->sb, err) != 0)
		goto out;
	close(io[1]);
	io[1] = -1;
	rc = 0;
out:
	if (lfd >= 0)
		close(lfd);
	close(errfd);
	return rc;
}

/*
 * A started proxy made ready: its hello answered (then io is closed),
 * the work directory copied in, its channel connected (non-blocking: the
 * node's loop must never wait on a pod that stops reading), the copy
 * holding nothing yet.
 */
static int
local_ready(const struct podspec *spec, const struct local_env *env,
    struct local_pod *pod, int *io, struct audit_err *err)
{
	if (handshake(pod, env, *io, err) != 0)
		return -1;
	close(*io);
	*io = -1;
	if (spec->work[0] != '\0' && work_in(spec, env, pod, err) != 0)
		return -1;
	return (pod->chan = local_connect(pod, -1, err)) < 0 ? -1 : 0;
}

/*
 * Start spec's pod under dir (made if need be); on success pod->chan is
 * the node's connection to the pod's channel.
 */
int
local_start(const struct podspec *spec, const struct local_env *env,
    const char *dir, struct local_pod *pod, struct audit_err *err)
{
	char conf[LOCAL_PATH_MAX], exe[LOCAL_PATH_MAX];
	char *argv[] = { exe, "-C", "-A", "-f", "3", "-p",
	    "/etc/nucleus/pod.json", NULL, NULL, NULL };
	struct sandbox_spec sp = { .name = spec->name, .exe = env->proxy,
	    .argv = argv, .conf = conf, .lim = spec->lim, .uid = env->uid,
	    .gid = env->gid, .cgroup = pod->cgroup, .keep_admin = 1 };
	int io[2] = { -1, -1 }, gw = -1;

	memset(pod, 0, sizeof(*pod));
	pod->chan = -1;
	if (local_names(spec, env, dir, pod, exe, conf, err) != 0 ||
	    local_conf(spec, env, dir, conf, err) != 0)
		return -1;
	for (size_t i = 0; i < SANDBOX_BINDS_MAX && env->binds[i] != NULL;
	    i++)
		sp.binds[i] = env->binds[i];
	if (egress_start(spec, env, dir, &pod->egress, &gw, err) != 0)
		goto fail;
	if (gw >= 0) {
		argv[7] = "-G";
		argv[8] = "4";
	}
	if (local_spawn(&sp, dir, pod, io, gw, err) != 0)
		goto fail;
	if (gw >= 0)
		close(gw);
	gw = -1;
	if (local_ready(spec, env, pod, &io[0], err) != 0) {
		sandbox_kill(&pod->sb);
		(void)sandbox_release(&pod->sb, RELEASE_WAIT_MS);
		goto fail;
	}
	return 0;
fail:
	if (gw >= 0)
		close(gw);
	egress_stop(pod->egress);
	pod->egress = NULL;
	for (int i = 0; i < 2; i++)
		if (io[i] >= 0)
			close(io[i]);
	return -1;
}
