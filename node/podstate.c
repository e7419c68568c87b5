/*
 * The pods the node runs, kept in LMDB (state.mdb, table "pods"), so a
 * restart never forgets one.  A pod's entry is written when it starts
 * and removed when it ends and that is recorded; an entry the node finds
 * at start is a pod that was running when the node last stopped without
 * stopping it (a crash, a kill, SIGUSR2).  A local pod that still runs
 * (its pid checked against its start time, so a reused pid is never
 * taken for it) is taken back: its copy verified and continued, its
 * channel connected again (readopt).  One that cannot be (it ended, its
 * copy does not verify, its channel is not there; a VM that was still
 * booting) is stopped if it still runs, its cgroup removed, its
 * host copy verified, and it is kept as "lost": listed, its status
 * shown, refused for calls, until pod.stop removes it.
 *
 *	key	the pod's name
 *	value	CJSON {"spec":{...}, "state":"starting"|"running"|"lost",
 *		"log", "pubkey",
 *		"cgroup", "cgroup_dirs":[...], "cgroup_version", "pid",
 *		"pid_start", "started", "audit_copy", "lost_at"?}
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "serve.h"

/* A process's start time, in clock ticks since boot (proc(5) field 22). */
static unsigned long long
start_time(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long t = 0;
	ssize_t n;
	int fd;

	if (audit_fit(path, sizeof(path), NULL, "/proc/%d/stat",
	    (int)pid) != 0)
		return 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* After the command's closing parenthesis: field 3 onwards. */
	if ((p = strrchr(buf, ')')) == NULL)
		return 0;
	for (int field = 2; field < 22 && p != NULL; field++)
		p = strchr(p + 1, ' ');
	if (p != NULL && num_parse_un(p + 1, strcspn(p + 1, " "), 0,
	    ULLONG_MAX, &t) != NUM_OK)
		t = 0;
	return t;
}

static int
put(const char *name, json_t *v)
{
	struct audit_buf b = { 0 };
	struct audit_err e;
	MDB_txn *txn;
	MDB_val k = { strlen(name), (void *)name }, d;
	int rc = -1;

	if (cjson_encode(v, &b, &e) != 0)
		goto out;
	d.mv_size = b.len;
	d.mv_data = b.p;
	if (N->gate.broken || N->env == NULL)
		goto out;
	if (mdb_txn_begin(N->env, NULL, 0, &txn) != 0) {
		N->gate.broken = 1;
		goto out;
	}
	if (mdb_put(txn, N->pods_dbi, &k, &d, 0) != 0) {
		mdb_txn_abort(txn);
		N->gate.broken = 1;
		goto out;
	}
	if ((rc = mdb_txn_commit(txn) == 0 ? 0 : -1) != 0)
		N->gate.broken = 1;
	N->state_dirty = 1;
out:
	audit_buf_free(&b);
	return rc;
}

/*
 * A pod has started: its entry, synced before its creation is answered;
 * a VM's also as it boots, so that a node that ends meanwhile leaves no
 * QEMU that the next one does not know of.
 */
int
podstate_save(const struct pod *p)
{
	char b64[64];
	json_t *v, *dirs = json_array();

	for (int i = 0; i < p->lp.sb.cg.n; i++)
		json_array_append_new(dirs, json_string(p->lp.sb.cg.dir[i]));
	audit_b64(b64, sizeof(b64), p->lp.pubkey, AUDIT_PK_LEN);
	v = json_pack("{s:O, s:s, s:s, s:s, s:s, s:o, s:i, s:i, s:I, s:I, "
	    "s:s}", "spec", p->spec_obj, "state", p->starting ? "starting" :
	    "running", "log", p->lp.log,
	    "pubkey", b64, "cgroup", p->lp.cgroup, "cgroup_dirs", dirs,
	    "cgroup_version", p->lp.sb.cg.version, "pid", (int)p->lp.sb.pid,
	    "pid_start", (json_int_t)p->pid_start, "started",
	    (json_int_t)p->started, "audit_copy", p->copy_path);
	if (v == NULL)
		return -1;
	if (put(p->spec.name, v) != 0) {
		json_decref(v);
		return -1;
	}
	json_decref(v);
	return 0;
}

/* A pod has ended, and that is recorded: its entry goes. */
void
podstate_forget(const char *name)
{
	MDB_val k = { strlen(name), (void *)name };
	MDB_txn *txn;

	if (N->gate.broken || N->env == NULL)
		return;
	if (mdb_txn_begin(N->env, NULL, 0, &txn) != 0) {
		N->gate.broken = 1;
		return;
	}
	if (mdb_del(txn, N->pods_dbi, &k, NULL) != 0) {
		mdb_txn_abort(txn);
		return;
	}
	if (mdb_txn_commit(txn) == 0)
		N->state_dirty = 1;
	else
		N->gate.broken = 1;
}

/*
 * Has the process a pidfd names ended?  Not yet reaped, it is still
 * there to see (a zombie, its parent now another's): the pidfd says.
 */
static int
pidfd_ended(int fd)
{
	struct pollfd pf = { fd, POLLIN, 0 };

	return poll(&pf, 1, 0) != 0;
}

/* Stop a pod left running by the node before: only the process we ran. */
static int
stop_stray(pid_t pid, unsigned long long started)
{
	int fd;
	struct pollfd pf;

	if (pid <= 0 || (fd = (int)syscall(SYS_pidfd_open, pid, 0)) < 0)
		return 0;
	/* The pidfd holds the pid: checked after it, the start time is
	 * that of the process the pidfd names. */
	if (start_time(pid) != started || pidfd_ended(fd)) {
		close(fd);
		return 0;
	}
	(void)syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0);
	pf.fd = fd;
	pf.events = POLLIN;
	(void)poll(&pf, 1, RELEASE_WAIT_MS);
	close(fd);
	return 1;
}

/* How much of the host copy verifies with the node's key. */
static json_t *
check_copy(const char *path, uint64_t *lines)
{
	struct audit_chain c;
	struct audit_fault_info fi;
	struct audit_err e;
	json_t *r;
	int fd, rc;

	*lines = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return json_pack("{s:b, s:s}", "verified", 0, "message",
		    strerror(errno));
	audit_chain_init(&c, &N->self);
	memset(&fi, 0, sizeof(fi));
	rc = audit_chain_stream(&c, fd, &fi, &e);
	close(fd);
	*lines = c.lines;
	if (rc == 0)
		r = json_pack("{s:b}", "verified", 1);
	else
		r = json_pack("{s:b, s:s}", "verified", 0, "message",
		    fi.fault != 0 ? fi.detail : e.msg);
	audit_chain_free(&c);
	return r;
}

/* A lost pod, as the node shows it until pod.stop removes it. */
static struct pod *
lost_pod(const char *name, json_t *v)
{
	struct audit_err e;
	struct pod *p = calloc(1, sizeof(*p));
	const char *s;

	if (p == NULL)
		return NULL;
	if (podspec_parse(&p->spec, json_object_get(v, "spec"), &e) != 0 ||
	    strcmp(p->spec.name, name) != 0) {
		free(p);
		return NULL;
	}
	p->spec_obj = json_incref(json_object_get(v, "spec"));
	p->lost = 1;
	p->lp.chan = -1;
	p->lp.sb.pidfd = -1;
	/* What the node stored fits where it came from; what does not is
	 * left empty, never cut into another name or path. */
	if (audit_fit(p->lp.name, sizeof(p->lp.name), NULL, "%s", name) != 0)
		p->lp.name[0] = '\0';
	if ((s = json_string_value(json_object_get(v, "log"))) != NULL &&
	    audit_fit(p->lp.log, sizeof(p->lp.log), NULL, "%s", s) != 0)
		p->lp.log[0] = '\0';
	if ((s = json_string_value(json_object_get(v, "pubkey"))) != NULL)
		(void)audit_unb64(p->lp.pubkey, AUDIT_PK_LEN, s, strlen(s));
	if ((s = json_string_value(json_object_get(v, "cgroup"))) != NULL &&
	    audit_fit(p->lp.cgroup, sizeof(p->lp.cgroup), NULL, "%s", s) != 0)
		p->lp.cgroup[0] = '\0';
	if ((s = json_string_value(json_object_get(v, "audit_copy"))) !=
	    NULL && audit_fit(p->copy_path, sizeof(p->copy_path), NULL, "%s",
	    s) != 0)
		p->copy_path[0] = '\0';
	p->started = json_integer_value(json_object_get(v, "started"));
	p->not_after = podspec_not_after(&p->spec, p->started);
	p->lost_records = (uint64_t)json_integer_value(json_object_get(v,
	    "audit_records"));
	return p;
}
/* Every stored pod, name to its object, read in one transaction. */
static json_t *
load_all(void)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, d;
	json_t *found = json_object();
	int rc;

	if (N->env == NULL ||
	    mdb_txn_begin(N->env, NULL, MDB_RDONLY, &txn) != 0)
		return found;
	if (mdb_cursor_open(txn, N->pods_dbi, &cur) == 0) {
		for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0;
		    rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
			char key[POD_NAME_MAX + 1];
			json_t *o = json_loadb(d.mv_data, d.mv_size, 0, NULL);

			if (o == NULL || k.mv_size > POD_NAME_MAX)
				continue;
			memcpy(key, k.mv_data, k.mv_size);
			key[k.mv_size] = '\0';
			json_object_set_new(found, key, o);
		}
		mdb_cursor_close(cur);
	}
	mdb_txn_abort(txn);
	return found;
}

/* The stored cgroup's directories. */
static void
stored_cgroup(const json_t *v, struct cgroup *cgp)
{
	struct cgroup cg = { 0 };
	const json_t *dirs = json_object_get(v, "cgroup_dirs");

	cg.version = (int)json_integer_value(json_object_get(v,
	    "cgroup_version"));
	for (size_t i = 0; i < json_array_size(dirs) && i < CG_V1_N; i++) {
		/* A stored path that does not fit is not removed: never a
		 * shorter one. */
		if (audit_fit(cg.dir[i], sizeof(cg.dir[i]), NULL, "%s",
		    json_string_value(json_array_get(dirs, i))) != 0)
			break;
		cg.n = (int)i + 1;
	}
	*cgp = cg;
}

/* The stored cgroup's directories removed; those that stay are kept. */
static void
remove_stored_cgroup(const json_t *v)
{
	struct cgroup cg;

	stored_cgroup(v, &cg);
	if (cgroup_remove(&cg) > 0 && N->nleftovers < NODE_PODS_MAX)
		N->leftovers[N->nleftovers++] = cg;
}

/*
 * A pod that was running when the node stopped: its stray stopped, its
 * cgroup removed, its audit copy checked, pod.lost recorded and stored.
 */
static void
recover_running(const char *name, json_t *v, const char *why)
{
	char reason[512];
	uint64_t lines;
	json_t *check, *ev;
	int stopped;

	stopped = stop_stray((pid_t)json_integer_value(json_object_get(v,
	    "pid")), (unsigned long long)json_integer_value(
	    json_object_get(v, "pid_start")));
	remove_stored_cgroup(v);
	check = check_copy(json_string_value(json_object_get(v,
	    "audit_copy")), &lines);
	if (stopped)
		audit_fmt(reason, sizeof(reason), "the node restarted and "
		    "could not take the pod back (%s): stopped", why);
	ev = json_pack("{s:s, s:s, s:O, s:s, s:O, s:I, s:o}",
	    "event", "pod.lost", "pod", name, "pod_log",
	    json_object_get(v, "log"), "reason", stopped ? reason :
	    "the pod ended while the node was not running", "audit_copy",
	    json_object_get(v, "audit_copy"), "audit_records",
	    (json_int_t)lines, "audit_copy_check", check);
	node_record(NULL, ev, NULL);
	json_object_set_new(v, "state", json_string("lost"));
	json_object_set_new(v, "audit_records", json_integer(
	    (json_int_t)lines));
	json_object_set_new(v, "lost_at", json_integer(
	    (json_int_t)time(NULL)));
	(void)put(name, v);
}


/*
 * The pod's init, if it is the process the node started: a pidfd that
 * holds it, checked against its start time after it is held; or -1.
 */
static int
pod_pidfd(pid_t pid, unsigned long long started)
{
	int fd;

	if (pid <= 0 || (fd = (int)syscall(SYS_pidfd_open, pid, 0)) < 0)
		return -1;
	if (start_time(pid) != started || pidfd_ended(fd)) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * A taken-back pod's logs (drain.c): the FIFOs its processes write into
 * read again, each into its file.  One that cannot be is said on
 * stderr; the pod is served all the same.
 */
static void
logs_reopen(const struct pod *p)
{
	static const char *const local[] = { "proxy.err", NULL };
	static const char *const qemu[] = { "vmm.err", "vm/console.log",
	    NULL };
	static const char *const fc[] = { "vmm.err", NULL };
	const char *const *names = strcmp(p->spec.driver, "local") == 0 ?
	    local : strcmp(p->spec.driver, "qemu") == 0 ? qemu : fc;
	char path[LOCAL_PATH_MAX + 32];
	struct audit_err e;

	for (; *names != NULL; names++)
		if (audit_fit(path, sizeof(path), &e, "%s/%s", p->lp.dir,
		    *names) != 0 || drain_reopen(path, p->lp.dir, &e) != 0)
			fprintf(stderr, "nucleus-node: pod %s: its log %s is "
			    "not written: %s\n", p->spec.name, *names, e.msg);
}

/*
 * Request ids a taken-back pod sees begin past any the node before
 * could have sent it: the pod may still send the records of those (its
 * log is sent again from where the copy stops), which must never name a
 * request of this node's.  A node sends far fewer than this many
 * requests a second.
 */
#define READOPT_IDS_PER_S 1000000ULL

/*
 * A VM pod taken back gets its way out again (vmegress.c): a new
 * gateway, and a new session on its egress port (QEMU; the guest ends
 * the streams of the session before) or the node's socket for its
 * streams again (Firecracker).  A pod whose egress cannot start is
 * still served: its streams are refused in the guest (unavailable).
 */
static void
resume_vm_egress(struct pod *p)
{
	struct audit_err e;

	if (strcmp(p->spec.driver, "local") != 0 &&
	    vmegress_start(&p->spec, &N->lenv, &p->lp, &e) != 0)
		fprintf(stderr, "nucleus-node: pod %s: its egress is not "
		    "taken back: %s\n", p->spec.name, e.msg);
}

/*
 * Said in the node's log once a pod taken back has a new gateway: each
 * of its connections the node before recorded as open and not closed
 * ended with that node (its gateway went with it; a VM's guest ends the
 * streams of the session before).
 */
static void
egress_resumed(const struct pod *p)
{
	if (p->lp.egress != NULL && (strcmp(p->spec.driver, "local") == 0 ||
	    p->lp.vmegress != NULL || p->lp.fcegress != NULL))
		node_record(NULL, json_pack("{s:s, s:s, s:s}", "event",
		    "egress.resume", "pod", p->spec.name, "driver",
		    p->spec.driver), NULL);
}

/*
 * What a node trusts of a pod it takes back: its own stored entry (the
 * pod's pid and start time, cgroup, log, key), the copy it verifies from
 * log.open with its own key, and the channel socket it made, in a
 * directory the pod cannot write (local_connect).  Nothing the pod
 * wrote.  0: the pod is taken back, recorded as pod.adopt, served.
 */
static int
readopt(const char *name, json_t *v, struct audit_err *err)
{
	struct copyw_state st;
	struct pod *p;
	json_t *ev;
	int fd, gw = -1;

	if ((fd = pod_pidfd((pid_t)json_integer_value(json_object_get(v,
	    "pid")), (unsigned long long)json_integer_value(json_object_get(v,
	    "pid_start")))) < 0)
		return audit_errf(err, "it ended");
	if ((p = lost_pod(name, v)) == NULL) {
		close(fd);
		return audit_errf(err, "its entry does not parse");
	}
	p->lost = 0;
	p->lp.sb.pid = (pid_t)json_integer_value(json_object_get(v, "pid"));
	p->lp.sb.pidfd = fd;
	p->lp.sb.adopted = 1;
	stored_cgroup(v, &p->lp.sb.cg);
	p->pid_start = (unsigned long long)json_integer_value(
	    json_object_get(v, "pid_start"));
	if (p->lp.log[0] == '\0' || !audit_logid_valid(p->lp.log,
	    strlen(p->lp.log)) || audit_fit(p->spec.log, sizeof(p->spec.log),
	    err, "%s", p->lp.log) != 0 ||
	    audit_fit(p->lp.dir, sizeof(p->lp.dir), err, "%s/%s",
	    N->pods_dir, name) != 0)
		goto fail;
	/* Before the channel: what the VMM says meanwhile is kept. */
	logs_reopen(p);
	if ((p->cw = copyw_reopen(p->lp.dir, p->lp.log, p->lp.pubkey,
	    &N->self, err)) == NULL ||
	    audit_fit(p->copy_path, sizeof(p->copy_path), err, "%s",
	    p->cw->c.path) != 0)
		goto fail;
	copyw_state(p->cw, &st);
	p->quota.bytes = (uint64_t)p->cw->c.chain.offset;
	p->acked = st.durable_seq;
	p->next_seq = (uint64_t)time(NULL) * READOPT_IDS_PER_S;
	/* A local pod's way out: a new gateway, its proxy told (egress.c). */
	if (strcmp(p->spec.driver, "local") == 0 && egress_start(&p->spec,
	    &N->lenv, p->lp.dir, &p->lp.egress, &gw, err) != 0)
		goto fail;
	p->lp.chan = strcmp(p->spec.driver, "local") == 0 ?
	    local_connect_gw(&p->lp, st.durable_seq, gw, err) :
	    vm_reconnect(&p->spec, &p->lp, &N->lenv, st.durable_seq, err);
	if (gw >= 0)
		close(gw);
	if (p->lp.chan < 0)
		goto fail;
	/* A VM's way out: a new gateway, a new session on its port. */
	resume_vm_egress(p);
	p->running = 1;
	ev_io_init(&p->rio, chan_read, p->lp.chan, EV_READ);
	ev_io_init(&p->wio, chan_write, p->lp.chan, EV_WRITE);
	ev_io_init(&p->exit_io, pods_exit, p->lp.sb.pidfd, EV_READ);
	p->rio.data = p->wio.data = p->exit_io.data = p;
	ev_io_start(N->loop, &p->rio);
	ev_io_start(N->loop, &p->exit_io);
	pods_link(p);
	ev = json_pack("{s:s, s:s, s:s, s:s, s:I}", "event", "pod.adopt",
	    "pod", name, "pod_log", p->lp.log, "audit_copy", p->copy_path,
	    "audit_records", (json_int_t)st.durable);
	node_record(NULL, ev, NULL);
	egress_resumed(p);
	return 0;
fail:
	/* The cgroup and the process stay: recover_running ends them. */
	p->lp.sb.cg.n = 0;
	close(p->lp.sb.pidfd);
	p->lp.sb.pidfd = -1;
	p->lp.sb.pid = 0;
	if (p->lp.chan >= 0)
		close(p->lp.chan);
	pods_free(p, 0);
	return -1;
}

/*
 * At start, before serving: every pod the node ran when it last stopped
 * without stopping them is found and taken back; one that cannot be is
 * stopped if it still runs, recorded as pod.lost, and kept as lost.
 */
void
podstate_recover(void)
{
	json_t *found = load_all();
	const char *name;
	json_t *v;

	json_object_foreach(found, name, v) {
		const char *state = json_string_value(json_object_get(v,
		    "state"));
		struct pod *p;

		struct audit_err e = { "the node runs as many pods as it "
		    "may" };

		if (state != NULL && strcmp(state, "starting") == 0)
			recover_running(name, v, "its VM was booting");
		else if (state != NULL && strcmp(state, "running") == 0) {
			if (N->npods < NODE_PODS_MAX &&
			    readopt(name, v, &e) == 0)
				continue;
			recover_running(name, v, e.msg);
		}
		if (N->npods < NODE_PODS_MAX &&
		    (p = lost_pod(name, v)) != NULL) {
			p->next = N->pods;
			N->pods = p;
			N->npods++;
		}
	}
	json_decref(found);
}

unsigned long long
podstate_start_time(pid_t pid)
{
	return start_time(pid);
}
