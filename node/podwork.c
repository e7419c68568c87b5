/*
 * A pod's work, out to the operator: pod.export (an archive of its /work
 * or a path beneath it), pod.diff (what changed since it was copied in),
 * and work.export (the archive and the patch written beneath the node's
 * work root when the pod ends, however it ends).  Each made by export.c
 * from the pod's /work, which the node holds open from the pod's start
 * (a local pod's).  A VM's /work is inside its guest, where the node
 * does not reach: its proxy packs it (proxy/pack.c) and hands it over
 * in pieces, each one answer on the pod's channel, asked for one after
 * the other as the answers come (the loop is never held), and the node
 * makes the same archive of it (export_repack), believing nothing the
 * guest says.  A VM's work.export is made at pod.stop and timeout_s,
 * while its guest still runs; the stop comes after it.
 *
 * The original a diff is made against is the pod's /work as it was once
 * work.copy had copied it in: an archive of it, the snapshot, kept in the
 * pod's directory (work.orig.tar), so that the host directory changing
 * later does not change what the pod's work is compared with.  A VM's
 * is made at its start from the host directory work.copy names, as
 * work.copy judges it: what the guest's /work starts with.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/openat2.h>

#include "serve.h"
#include "members.h"
#include "policy.h"

#define SNAPSHOT	"work.orig.tar"

/*
 * The pod's /work held open: a local pod's, from its start (or, when
 * the node started again since, from its first use) to its end.
 */
static int
work_fd(struct pod *p, int starting)
{
	/*
	 * work beneath the pod's root, following no link: through
	 * /proc/pid/root an absolute link would lead to the host's root.
	 */
	struct open_how how = { .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
	    RESOLVE_NO_MAGICLINKS };
	char path[64];
	int root, fd;

	if (p->wfd > 0)
		return p->wfd - 1;
	if (strcmp(p->spec.driver, "local") != 0 || (!p->running &&
	    !starting) || p->lp.sb.pid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/root", (int)p->lp.sb.pid);
	if ((root = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	fd = (int)syscall(SYS_openat2, root, "work", &how, sizeof(how));
	close(root);
	if (fd < 0)
		return -1;
	p->wfd = fd + 1;
	return fd;
}

/*
 * Each second: a running pod with work.export whose /work the node does
 * not hold (the node started again since the pod did) is held again,
 * so that its end still finds it.
 */
void
podwork_hold(struct pod *p)
{
	if (p->spec.work_export[0] != '\0' && p->wfd == 0 && p->running &&
	    !p->lost)
		(void)work_fd(p, 0);
}

void
podwork_close(struct pod *p)
{
	if (p->wfd > 0)
		close(p->wfd - 1);
	p->wfd = 0;
}

static int
export_all(struct pod *p, struct export_out *out, struct audit_err *err)
{
	struct export_req req = { .path = "", .policy = p->spec.policy,
	    .max_bytes = EXPORT_BYTES_MAX, .max_entries = EXPORT_ENTRIES_MAX };
	int fd = work_fd(p, 0);

	if (fd < 0) {
		out->kind = "unavailable";
		return audit_errf(err, "the pod's /work is not within the "
		    "node's reach (a local pod's only, while it runs or at its "
		    "end)");
	}
	return export_tar(fd, &req, out, err);
}

static void
blake2b_hex(char hex[AUDIT_HEX_LEN + 1], const void *p, size_t n)
{
	uint8_t h[AUDIT_HASH_LEN];

	crypto_generichash(h, sizeof(h), p, n, NULL, 0);
	audit_hex(hex, h, sizeof(h));
}

static int
is_local(const struct pod *p)
{
	return strcmp(p->spec.driver, "local") == 0;
}

/* All of a pod's /work, within the node's bounds. */
static void
req_all(const struct pod *p, struct export_req *req)
{
	*req = (struct export_req){ .path = "", .policy = p->spec.policy,
	    .max_bytes = EXPORT_BYTES_MAX, .max_entries = EXPORT_ENTRIES_MAX };
}

/*
 * What a VM's /work starts with, as the node sees it: the host directory
 * work.copy names, judged as work.copy judges it (nothing: empty).
 */
static int
vm_origin(const struct pod *p, struct export_out *out, struct audit_err *e)
{
	static const struct audit_buf none = { 0 };
	struct export_req req;
	int fd, rc;

	req_all(p, &req);
	if (p->spec.work[0] == '\0')
		return export_repack(&none, &req, out, e);
	if ((fd = work_dir_open(N->lenv.work_root, p->spec.work, "work.copy",
	    e)) < 0)
		return -1;
	rc = export_tar(fd, &req, out, e);
	close(fd);
	return rc;
}

/*
 * At a pod's start, once work.copy is in (a VM's: once its drive is
 * made): a local pod's /work held open, and the snapshot kept.  Without
 * one (a /work past an export's bounds, say) the pod runs, and pod.diff
 * says why it cannot answer.
 */
void
podwork_start(struct pod *p)
{
	struct export_out out = { 0 };
	struct audit_err e;
	char path[LOCAL_PATH_MAX + 32];
	int fd = -1;

	if (audit_fit(path, sizeof(path), &e, "%s/" SNAPSHOT, p->lp.dir) !=
	    0)
		return;
	(void)unlink(path);
	if (is_local(p) ? work_fd(p, 1) < 0 || export_all(p, &out, &e) != 0 :
	    vm_origin(p, &out, &e) != 0)
		return;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) < 0 || audit_writeall(fd, out.tar.p,
	    out.tar.len) != 0 || fsync(fd) != 0)
		(void)unlink(path);
	if (fd >= 0)
		close(fd);
	audit_buf_free(&out.tar);
}

/* Where the pod's snapshot is kept. */
static int
snapshot_path(const struct pod *p, char *path, size_t n,
    struct audit_err *err)
{
	return audit_fit(path, n, err, "%s/" SNAPSHOT, p->lp.dir);
}

/*
 * A snapshot, read back (at most EXPORT_BYTES_MAX bytes); b NULL: only
 * whether it is there.  On any thread.
 */
int
export_snapshot(const char *path, struct audit_buf *b, struct audit_err *err)
{
	char buf[65536];
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return audit_errf(err, "no snapshot of the pod's /work at its "
		    "start (within an export's bounds): %s", strerror(errno));
	if (b == NULL) {
		close(fd);	/* there: enough */
		return 0;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0 &&
	    b->len + (size_t)n <= EXPORT_BYTES_MAX)
		if (audit_buf_add(b, buf, (size_t)n) != 0) {
			n = -1;
			break;
		}
	close(fd);
	if (n != 0)
		return audit_errf(err, "%s: cannot be read whole", path);
	return 0;
}

static int
snapshot(const struct pod *p, struct audit_buf *b, struct audit_err *err)
{
	char path[LOCAL_PATH_MAX + 32];

	if (snapshot_path(p, path, sizeof(path), err) != 0)
		return -1;
	return export_snapshot(path, b, err);
}

static struct pod *
named(struct lines_conn *c, struct gate_req *q)
{
	struct pod *p = pods_find(q->pod);

	if (p == NULL)
		pods_refuse(c, q->kid, q->id, q->pod, "unknown_pod", "no such "
		    "pod");
	return p;
}

/* An optional bound of args: def when absent; 0 when not 1 to def. */
static size_t
bound(const json_t *args, const char *name, size_t def)
{
	const json_t *v = json_object_get(args, name);

	if (v == NULL)
		return def;
	if (!json_is_integer(v) || json_integer_value(v) < 1 ||
	    (uint64_t)json_integer_value(v) > def)
		return 0;
	return (size_t)json_integer_value(v);
}

/* The request's args: {"path"?, "max_bytes"?, "max_entries"?}. */
static const char *
export_args(const json_t *args, struct export_req *req)
{
	static const char *const names[] = { "path", "max_bytes",
	    "max_entries", NULL };
	const json_t *path = json_object_get(args, "path");

	if (members_unknown(args, names) != NULL)
		return "args: expected {\"path\", \"max_bytes\", "
		    "\"max_entries\"}, each optional";
	if (path != NULL && !json_is_string(path))
		return "path: expected a string";
	req->path = path != NULL ? json_string_value(path) : "";
	if (strncmp(req->path, "/work/", 6) == 0)
		req->path += 6;
	else if (strcmp(req->path, "/work") == 0)
		req->path = "";
	req->max_bytes = bound(args, "max_bytes", EXPORT_BYTES_MAX);
	req->max_entries = bound(args, "max_entries", EXPORT_ENTRIES_MAX);
	if (req->max_bytes == 0 || req->max_entries == 0)
		return "max_bytes and max_entries: expected 1 to the node's "
		    "bounds (nucleus-node(8))";
	return NULL;
}

/* An archive made: recorded (its BLAKE2b and size), then sent. */
static void
export_send(struct lines_conn *c, const char *kid, const json_t *id,
    const char *pod, const char *path, const struct export_out *out)
{
	char hex[AUDIT_HEX_LEN + 1], *b64;

	blake2b_hex(hex, out->tar.p, out->tar.len);
	if ((b64 = malloc(audit_b64_len(out->tar.len))) == NULL) {
		pods_refuse(c, kid, id, pod, "internal", "out of memory");
		return;
	}
	audit_b64(b64, audit_b64_len(out->tar.len), (const uint8_t *)
	    out->tar.p, out->tar.len);
	node_record(c, json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:I, s:I, "
	    "s:I}", "event", "pod.export", "signer", kid, "pod", pod, "path",
	    path, "bytes", (json_int_t)out->tar.len, "blake2b", hex,
	    "entries", (json_int_t)out->entries, "left_out",
	    (json_int_t)out->left_out, "skipped", (json_int_t)out->skipped),
	    node_ok(id, json_pack("{s:s, s:I, s:s, s:I, s:I, s:I, s:s}",
	    "path", path, "bytes", (json_int_t)out->tar.len, "blake2b", hex,
	    "entries", (json_int_t)out->entries, "left_out",
	    (json_int_t)out->left_out, "skipped", (json_int_t)out->skipped,
	    "archive", b64)));
	free(b64);
}

/* The diff of the archive now against the pod's snapshot; NULL and why. */
static json_t *
diff_of(const struct pod *p, const struct audit_buf *now, const char **kind,
    struct audit_err *e)
{
	struct audit_buf orig = { 0 };
	json_t *r = NULL;

	*kind = "unavailable";
	if (snapshot(p, &orig, e) == 0)
		(void)export_diff(&orig, now, &r, kind, e);
	audit_buf_free(&orig);
	return r;
}

static json_t *
diff_record(const char *pod, const json_t *r)
{
	const char *patch = json_string_value(json_object_get(r, "patch"));
	size_t n = json_string_length(json_object_get(r, "patch"));
	char hex[AUDIT_HEX_LEN + 1];

	blake2b_hex(hex, patch, n);
	return json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:s}", "event",
	    "pod.diff", "pod", pod, "added", (json_int_t)json_array_size(
	    json_object_get(r, "added")), "removed", (json_int_t)
	    json_array_size(json_object_get(r, "removed")), "modified",
	    (json_int_t)json_array_size(json_object_get(r, "modified")),
	    "bytes", (json_int_t)n, "blake2b", hex);
}

/* pod.diff's answer r (taken): recorded, then sent. */
static void
diff_answer(struct lines_conn *c, const char *kid, const json_t *id,
    const char *pod, json_t *r)
{
	json_t *ev = diff_record(pod, r);

	json_object_set_new(ev, "signer", json_string(kid));
	node_record(c, ev, node_ok(id, r));
}

/* On the loop: an export made. */
static void
export_made(struct exportq_job *j)
{
	if (j->rc != 0)
		pods_refuse(j->c, j->kid, j->id, j->pod, j->kind, j->e.msg);
	else
		export_send(j->c, j->kid, j->id, j->pod, j->path, &j->out);
}

/* On the loop: a diff made. */
static void
diff_made(struct exportq_job *j)
{
	if (j->rc != 0)
		pods_refuse(j->c, j->kid, j->id, j->pod, j->kind, j->e.msg);
	else {
		diff_answer(j->c, j->kid, j->id, j->pod, j->diff);
		j->diff = NULL;
	}
}

/*
 * A job for c's request about p: an export of req (with a snapshot: a
 * diff), reading the descriptor fd (taken) or cpio (taken).  Refused
 * here when it cannot be queued.
 */
static void
job_submit(struct pod *p, const struct export_req *req, int diff, int fd,
    struct audit_buf *cpio, size_t left_out, size_t skipped,
    struct lines_conn *c, const char *kid, const json_t *id)
{
	struct exportq_job *j = exportq_new(p->spec.policy, req->path);
	struct audit_err e;

	if (j == NULL || (diff && snapshot_path(p, j->snap, sizeof(j->snap),
	    &e) != 0)) {
		if (fd >= 0)
			close(fd);
		if (j != NULL)
			exportq_free(j);
		pods_refuse(c, kid, id, p->spec.name, "internal", "out of "
		    "memory");
		return;
	}
	j->fd = fd;
	if (cpio != NULL) {
		j->cpio = *cpio;
		*cpio = (struct audit_buf){ 0 };
	}
	j->left_out = left_out;
	j->skipped = skipped;
	j->req = *req;
	j->done = diff ? diff_made : export_made;
	j->c = c;
	lines_hold(c);
	j->id = json_incref((json_t *)id);
	audit_fmt(j->kid, sizeof(j->kid), "%s", kid);
	audit_fmt(j->pod, sizeof(j->pod), "%s", p->spec.name);
	if (exportq_submit(j) != 0) {
		pods_refuse(c, kid, id, p->spec.name, "internal", "the node's "
		    "export worker cannot start");
		exportq_free(j);
	}
}

/* Write n bytes of p as name in the directory dfd, a new file. */
static int
write_new(int dfd, const char *name, const void *p, size_t n,
    struct audit_err *err)
{
	int fd, rc = -1;

	if ((fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) < 0)
		return audit_errf(err, "%s: %s", name, strerror(errno));
	if (audit_writeall(fd, p, n) != 0 || fsync(fd) != 0) {
		audit_errf(err, "%s: %s", name, strerror(errno));
		unlinkat(dfd, name, 0);	/* never a torn file left */
	} else
		rc = 0;
	close(fd);
	return rc;
}

/* work.export's files, <log>.tar and <log>.diff, in the directory dfd. */
static int
end_files(struct pod *p, int dfd, json_t *ev, const struct export_out *out,
    struct audit_err *err)
{
	char name[AUDIT_LOGID_MAX + 8], hex[AUDIT_HEX_LEN + 1];
	const char *kind;
	json_t *r;
	int rc;

	snprintf(name, sizeof(name), "%s.tar", p->lp.log);
	blake2b_hex(hex, out->tar.p, out->tar.len);
	if (write_new(dfd, name, out->tar.p, out->tar.len, err) != 0)
		return -1;
	json_object_set_new(ev, "archive", json_pack("{s:s, s:I, s:s}",
	    "name", name, "bytes", (json_int_t)out->tar.len, "blake2b", hex));
	if ((r = diff_of(p, &out->tar, &kind, err)) == NULL) {
		unlinkat(dfd, name, 0);	/* both files, or neither */
		return -1;
	}
	snprintf(name, sizeof(name), "%s.diff", p->lp.log);
	rc = write_new(dfd, name, json_string_value(json_object_get(r,
	    "patch")), json_string_length(json_object_get(r, "patch")), err);
	if (rc != 0) {
		snprintf(name, sizeof(name), "%s.tar", p->lp.log);
		unlinkat(dfd, name, 0);
	}
	if (rc == 0) {
		json_t *d = diff_record(p->spec.name, r);

		json_object_del(d, "event");
		json_object_del(d, "pod");
		json_object_set_new(d, "name", json_string(name));
		json_object_set_new(ev, "diff", d);
	}
	json_decref(r);
	return rc;
}

/*
 * work.export at the pod's end: the archive out and its diff written
 * and recorded, or (out NULL) why not; a VM whose stop waited for it is
 * stopped now.
 */
static void
end_recorded(struct pod *p, const struct export_out *out, const char *kind,
    const char *why)
{
	struct audit_err e;
	json_t *ev;
	int dfd = -1;

	ev = json_pack("{s:s, s:s, s:s}", "event", "pod.work_export", "pod",
	    p->spec.name, "dir", p->spec.work_export);
	if (out != NULL && ((dfd = work_dir_open(N->lenv.work_root,
	    p->spec.work_export, "work.export", &e)) < 0 ||
	    end_files(p, dfd, ev, out, &e) != 0)) {
		kind = "io_error";
		why = e.msg;
	}
	if (out == NULL || kind != NULL) {
		json_object_set_new(ev, "kind", json_string(kind));
		json_object_set_new(ev, "message", json_string(why));
	}
	if (dfd >= 0)
		close(dfd);
	node_record(NULL, ev, NULL);
	p->work_ended = 1;
	if (p->end_export) {
		p->end_export = 0;
		sandbox_kill(&p->lp.sb);
	}
}

/*
 * A VM pod's work, out: its proxy asked to pack it, then for each piece
 * in turn, each answer taken as it comes on the loop.
 */
enum vmx_for { VMX_EXPORT, VMX_DIFF, VMX_END };

struct vmx {
	struct vmx *next;		/* waiting its turn */
	int	 active;		/* its turn */
	struct pod *p;
	enum vmx_for	 purpose;
	struct lines_conn *c;		/* held; NULL for work.export */
	json_t	*id;
	char	 kid[AUDIT_KID_MAX + 1];
	char	 path[POLICY_PATH_MAX + 1];
	struct export_req req;
	struct export_pack pk;
};

static void vmx_start(struct vmx *);

/* x done with; the next export of its pod, if one waits, begins. */
static void
vmx_free(struct vmx *x)
{
	struct pod *p = x->p;
	struct vmx *n;
	int active = x->active;

	if (x->c != NULL)
		lines_release(x->c);
	json_decref(x->id);
	audit_buf_free(&x->pk.cpio);
	free(x);
	if (!active)
		return;
	p->vmx_busy = 0;
	if ((n = p->vmx_wait) != NULL) {
		p->vmx_wait = n->next;
		vmx_start(n);
	}
}

static void
vmx_failed(struct vmx *x, const char *kind, const char *why)
{
	if (x->purpose == VMX_END)
		end_recorded(x->p, NULL, kind, why);
	else
		pods_refuse(x->c, x->kid, x->id, x->p->spec.name, kind, why);
	vmx_free(x);
}

static void vmx_chunk(void *, const json_t *, const char *, const char *);

static void
vmx_ask(struct vmx *x, json_t *word, void (*done)(void *, const json_t *,
    const char *, const char *))
{
	if (word == NULL || chan_ask(x->p, word, done, x) != 0)
		vmx_failed(x, "unavailable", "the pod is not running, or not "
		    "taking its requests");
}

static void
vmx_next(struct vmx *x)
{
	vmx_ask(x, json_pack("{s:{s:s, s:I}, s:s, s:i}", "export", "op",
	    "chunk", "offset", (json_int_t)x->pk.cpio.len, "type", "work.export",
	    "v", 1), vmx_chunk);
}

/*
 * All of it come: the node's own archive made of it, and used; on the
 * worker for a client (exportq.c), here at the pod's end.
 */
static void
vmx_done(struct vmx *x)
{
	struct export_out out;
	struct audit_err e;

	if (x->purpose != VMX_END) {
		job_submit(x->p, &x->req, x->purpose == VMX_DIFF, -1,
		    &x->pk.cpio, x->pk.left_out, x->pk.skipped, x->c, x->kid,
		    x->id);
		vmx_free(x);
		return;
	}
	if (export_repack(&x->pk.cpio, &x->req, &out, &e) != 0) {
		vmx_failed(x, out.kind, e.msg);
		return;
	}
	out.left_out += x->pk.left_out;
	out.skipped += x->pk.skipped;
	end_recorded(x->p, &out, NULL, NULL);
	audit_buf_free(&out.tar);
	vmx_free(x);
}

/* A piece: where asked, no longer than EXPORT_CHUNK_MAX or than said. */
static void
vmx_chunk(void *arg, const json_t *result, const char *kind,
    const char *why)
{
	struct vmx *x = arg;
	struct audit_err e;
	int rc;

	if (result == NULL)
		vmx_failed(x, kind, why);
	else if ((rc = export_piece(result, &x->pk, &kind, &e)) < 0)
		vmx_failed(x, kind, e.msg);
	else if (rc == 0)
		vmx_next(x);
	else
		vmx_done(x);
}

/* The proxy packed it: its size within the bound asked for. */
static void
vmx_packed(void *arg, const json_t *result, const char *kind,
    const char *why)
{
	struct vmx *x = arg;
	struct audit_err e;

	if (result == NULL)
		vmx_failed(x, kind, why);
	else if (export_packed(result, x->req.max_bytes, &x->pk, &kind,
	    &e) != 0)
		vmx_failed(x, kind, e.msg);
	else
		vmx_next(x);
}

/* A VM pod's work asked of its proxy, for purpose; c NULL at its end. */
static void
vmx_begin(struct pod *p, enum vmx_for purpose, struct lines_conn *c,
    const char *kid, const json_t *id, const struct export_req *req)
{
	struct vmx *x = calloc(1, sizeof(*x));

	if (x == NULL) {
		if (c != NULL)
			pods_refuse(c, kid, id, p->spec.name, "internal",
			    "out of memory");
		else
			end_recorded(p, NULL, "internal", "out of memory");
		return;
	}
	x->p = p;
	x->purpose = purpose;
	if ((x->c = c) != NULL)
		lines_hold(c);
	x->id = json_incref((json_t *)id);
	audit_fmt(x->kid, sizeof(x->kid), "%s", kid != NULL ? kid : "");
	x->req = *req;
	x->req.path = x->path;
	if (audit_fit(x->path, sizeof(x->path), NULL, "%s", req->path) != 0) {
		vmx_failed(x, "bad_request", "path: longer than a policy "
		    "path");
		return;
	}
	vmx_start(x);
}

/* Its turn, or after those before it: its proxy packs one at a time. */
static void
vmx_start(struct vmx *x)
{
	struct pod *p = x->p;
	struct vmx **pp;

	if (!p->running || p->starting || p->log_stopped[0] != '\0') {
		vmx_failed(x, "unavailable", "the pod is not running");
		return;
	}
	if (p->vmx_busy) {
		for (pp = &p->vmx_wait; *pp != NULL; pp = &(*pp)->next)
			;
		x->next = NULL;
		*pp = x;
		return;
	}
	p->vmx_busy = 1;
	x->active = 1;
	vmx_ask(x, json_pack("{s:{s:s, s:s, s:I, s:I}, s:s, s:i}", "export",
	    "op", "pack", "path", x->path, "max_bytes",
	    (json_int_t)x->req.max_bytes, "max_entries",
	    (json_int_t)x->req.max_entries, "type", "work.export", "v", 1),
	    vmx_packed);
}

/* pod.export: the archive, recorded (its BLAKE2b and size), then sent. */
void
podwork_export(struct lines_conn *c, struct gate_req *q)
{
	struct export_req req = { 0 };
	const char *why;
	struct pod *p;
	int fd;

	if ((p = named(c, q)) == NULL)
		return;
	if ((why = export_args(json_object_get(q->obj, "args"), &req)) !=
	    NULL) {
		pods_refuse(c, q->kid, q->id, q->pod, "bad_request", why);
		return;
	}
	req.policy = p->spec.policy;
	if (!is_local(p)) {
		vmx_begin(p, VMX_EXPORT, c, q->kid, q->id, &req);
		return;
	}
	if ((fd = work_fd(p, 0)) < 0) {
		pods_refuse(c, q->kid, q->id, q->pod, "unavailable", "the "
		    "pod's /work is not within the node's reach (a local "
		    "pod's only, while it runs)");
		return;
	}
	/* The worker's own: the pod may end before it is done. */
	if ((fd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0) {
		pods_refuse(c, q->kid, q->id, q->pod, "internal",
		    strerror(errno));
		return;
	}
	job_submit(p, &req, 0, fd, NULL, 0, 0, c, q->kid, q->id);
}

/* pod.diff: what changed in /work since work.copy, and its patch. */
void
podwork_diff(struct lines_conn *c, struct gate_req *q)
{
	struct export_req req;
	struct audit_err e;
	struct pod *p;
	int fd;

	if ((p = named(c, q)) == NULL)
		return;
	if (json_object_size(json_object_get(q->obj, "args")) != 0) {
		pods_refuse(c, q->kid, q->id, q->pod, "bad_request", "pod.diff "
		    "takes no args");
		return;
	}
	/* No snapshot: said before the pod's work is asked for. */
	if (snapshot(p, NULL, &e) != 0) {
		pods_refuse(c, q->kid, q->id, q->pod, "unavailable", e.msg);
		return;
	}
	req_all(p, &req);
	if (!is_local(p)) {
		vmx_begin(p, VMX_DIFF, c, q->kid, q->id, &req);
		return;
	}
	if ((fd = work_fd(p, 0)) < 0 || (fd = fcntl(fd, F_DUPFD_CLOEXEC,
	    0)) < 0) {
		pods_refuse(c, q->kid, q->id, q->pod, "unavailable", "the "
		    "pod's /work is not within the node's reach (a local "
		    "pod's only, while it runs)");
		return;
	}
	job_submit(p, &req, 1, fd, NULL, 0, 0, c, q->kid, q->id);
}

/*
 * pod.stop or timeout_s of a running VM pod with work.export: its /work
 * asked for first, the stop once it is written (end_recorded).  1 when
 * so; 0: stop it now (a local pod's /work is held past its end).
 */
int
podwork_stop(struct pod *p)
{
	struct export_req req;

	if (is_local(p) || p->spec.work_export[0] == '\0' || p->end_export ||
	    p->work_ended || !p->running || p->starting)
		return 0;
	p->end_export = 1;
	req_all(p, &req);
	vmx_begin(p, VMX_END, NULL, NULL, NULL, &req);
	return 1;
}

/*
 * A pod ends (its init's end, its timeout, pod.stop, the node
 * stopping): its work.export written, recorded either way; its /work
 * let go.  A VM's was written before its stop, or cannot be now.
 */
void
podwork_end(struct pod *p)
{
	struct export_out out = { 0 };
	struct audit_err e;

	if (p->spec.work_export[0] != '\0' && !p->work_ended) {
		if (p->wfd > 0) {
			if (export_all(p, &out, &e) != 0)
				end_recorded(p, NULL, "io_error", e.msg);
			else
				end_recorded(p, &out, NULL, NULL);
			audit_buf_free(&out.tar);
		} else if (!is_local(p))
			end_recorded(p, NULL, "unavailable", "the VM ended "
			    "before its /work was exported (a VM's is, at "
			    "pod.stop and timeout_s, while its guest runs)");
	}
	podwork_close(p);
}
