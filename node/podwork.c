/*
 * A pod's work, out to the operator: pod.export (an archive of its /work
 * or a path beneath it), pod.diff (what changed since it was copied in),
 * and work.export (the archive and the patch written beneath the node's
 * work root when the pod ends, however it ends).  Each made by export.c
 * from the pod's /work, which the node holds open from the pod's start
 * (a local pod's; the VM drivers' /work is inside the guest, where the
 * node does not reach: unavailable there).
 *
 * The original a diff is made against is the pod's /work as it was once
 * work.copy had copied it in: an archive of it, the snapshot, kept in the
 * pod's directory (work.orig.tar), so that the host directory changing
 * later does not change what the pod's work is compared with.
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

/*
 * At a local pod's start, once work.copy is in: its /work held open, and
 * the snapshot kept.  Without one (a /work past an export's bounds, say)
 * the pod runs, and pod.diff says why it cannot answer.
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
	if (work_fd(p, 1) < 0 || export_all(p, &out, &e) != 0)
		return;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) < 0 || audit_writeall(fd, out.tar.p,
	    out.tar.len) != 0 || fsync(fd) != 0)
		(void)unlink(path);
	if (fd >= 0)
		close(fd);
	audit_buf_free(&out.tar);
}

/* The snapshot, read back (at most EXPORT_BYTES_MAX bytes). */
static int
snapshot(const struct pod *p, struct audit_buf *b, struct audit_err *err)
{
	char path[LOCAL_PATH_MAX + 32], buf[65536];
	ssize_t n;
	int fd;

	if (audit_fit(path, sizeof(path), err, "%s/" SNAPSHOT, p->lp.dir) !=
	    0)
		return -1;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return audit_errf(err, "no snapshot of the pod's /work at its "
		    "start (a local pod's, within an export's bounds): %s",
		    strerror(errno));
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

/* pod.export: the archive, recorded (its BLAKE2b and size), then sent. */
void
podwork_export(struct lines_conn *c, struct gate_req *q)
{
	struct export_req req = { 0 };
	struct export_out out = { 0 };
	struct audit_err e;
	char hex[AUDIT_HEX_LEN + 1], *b64;
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
	if ((fd = work_fd(p, 0)) < 0) {
		pods_refuse(c, q->kid, q->id, q->pod, "unavailable", "the "
		    "pod's /work is not within the node's reach (a local "
		    "pod's only, while it runs)");
		return;
	}
	if (export_tar(fd, &req, &out, &e) != 0) {
		pods_refuse(c, q->kid, q->id, q->pod, out.kind, e.msg);
		return;
	}
	blake2b_hex(hex, out.tar.p, out.tar.len);
	if ((b64 = malloc(audit_b64_len(out.tar.len))) == NULL) {
		audit_buf_free(&out.tar);
		pods_refuse(c, q->kid, q->id, q->pod, "internal", "out of "
		    "memory");
		return;
	}
	audit_b64(b64, audit_b64_len(out.tar.len), (const uint8_t *)out.tar.p,
	    out.tar.len);
	node_record(c, json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:I, s:I, "
	    "s:I}", "event", "pod.export", "signer", q->kid, "pod", q->pod,
	    "path", req.path, "bytes", (json_int_t)out.tar.len, "blake2b", hex,
	    "entries", (json_int_t)out.entries, "left_out",
	    (json_int_t)out.left_out, "skipped", (json_int_t)out.skipped),
	    node_ok(q->id, json_pack("{s:s, s:I, s:s, s:I, s:I, s:I, s:s}",
	    "path", req.path, "bytes", (json_int_t)out.tar.len, "blake2b", hex,
	    "entries", (json_int_t)out.entries, "left_out",
	    (json_int_t)out.left_out, "skipped", (json_int_t)out.skipped,
	    "archive", b64)));
	free(b64);
	audit_buf_free(&out.tar);
}

/* The diff of the pod's /work against its snapshot; NULL and why. */
static json_t *
diff(struct pod *p, const char **kind, struct audit_err *e)
{
	struct audit_buf orig = { 0 };
	struct export_out now = { 0 };
	json_t *r = NULL;

	*kind = "unavailable";
	if (snapshot(p, &orig, e) == 0) {
		if (export_all(p, &now, e) != 0)
			*kind = now.kind;
		else
			(void)export_diff(&orig, &now.tar, &r, kind, e);
	}
	audit_buf_free(&orig);
	audit_buf_free(&now.tar);
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

/* pod.diff: what changed in /work since work.copy, and its patch. */
void
podwork_diff(struct lines_conn *c, struct gate_req *q)
{
	struct audit_err e;
	const char *kind;
	struct pod *p;
	json_t *r, *ev;

	if ((p = named(c, q)) == NULL)
		return;
	if (json_object_size(json_object_get(q->obj, "args")) != 0) {
		pods_refuse(c, q->kid, q->id, q->pod, "bad_request", "pod.diff "
		    "takes no args");
		return;
	}
	if ((r = diff(p, &kind, &e)) == NULL) {
		pods_refuse(c, q->kid, q->id, q->pod, kind, e.msg);
		return;
	}
	ev = diff_record(q->pod, r);
	json_object_set_new(ev, "signer", json_string(q->kid));
	node_record(c, ev, node_ok(q->id, r));
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
	if (audit_writeall(fd, p, n) != 0 || fsync(fd) != 0)
		audit_errf(err, "%s: %s", name, strerror(errno));
	else
		rc = 0;
	close(fd);
	return rc;
}

/* work.export's files, <log>.tar and <log>.diff, in the directory dfd. */
static int
end_files(struct pod *p, int dfd, json_t *ev, struct audit_err *err)
{
	struct export_out out = { 0 };
	char name[AUDIT_LOGID_MAX + 8], hex[AUDIT_HEX_LEN + 1];
	const char *kind;
	json_t *r;
	int rc = -1;

	if (export_all(p, &out, err) != 0)
		return -1;
	snprintf(name, sizeof(name), "%s.tar", p->lp.log);
	blake2b_hex(hex, out.tar.p, out.tar.len);
	if (write_new(dfd, name, out.tar.p, out.tar.len, err) == 0) {
		json_object_set_new(ev, "archive", json_pack("{s:s, s:I, s:s}",
		    "name", name, "bytes", (json_int_t)out.tar.len, "blake2b",
		    hex));
		rc = 0;
	}
	audit_buf_free(&out.tar);
	if (rc != 0 || (r = diff(p, &kind, err)) == NULL)
		return -1;
	snprintf(name, sizeof(name), "%s.diff", p->lp.log);
	rc = write_new(dfd, name, json_string_value(json_object_get(r,
	    "patch")), json_string_length(json_object_get(r, "patch")), err);
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
 * A pod ends (its init's end, its timeout, pod.stop, the node
 * stopping): its work.export written, recorded either way; its /work
 * let go.
 */
void
podwork_end(struct pod *p)
{
	struct audit_err e;
	json_t *ev;
	int dfd;

	if (p->spec.work_export[0] != '\0' && p->wfd > 0) {
		ev = json_pack("{s:s, s:s, s:s}", "event", "pod.work_export",
		    "pod", p->spec.name, "dir", p->spec.work_export);
		if ((dfd = work_dir_open(N->lenv.work_root,
		    p->spec.work_export, "work.export", &e)) < 0 ||
		    end_files(p, dfd, ev, &e) != 0) {
			json_object_set_new(ev, "kind", json_string("io_error"));
			json_object_set_new(ev, "message", json_string(e.msg));
		}
		if (dfd >= 0)
			close(dfd);
		node_record(NULL, ev, NULL);
	}
	podwork_close(p);
}
