/*
 * A pod's cgroup: memory, pids and cpu limits, on cgroup v2 where the
 * host's unified hierarchy has those controllers, else on cgroup v1 (one
 * hierarchy per controller, as a v1 hybrid mounts them).  Nothing is
 * skipped: a controller that is missing, or a limit that cannot be
 * written, fails the pod's start and is named.
 *
 *	v2	<unified>/nucleus/<pod>/{memory.max, pids.max, cpu.max}
 *	v1	/sys/fs/cgroup/memory/nucleus/<pod>/memory.limit_in_bytes
 *		/sys/fs/cgroup/pids/nucleus/<pod>/pids.max
 *		/sys/fs/cgroup/cpu/nucleus/<pod>/cpu.cfs_{period,quota}_us
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <linux/magic.h>

#include "node.h"

#define CPU_PERIOD_US	100000

static const char *const v1_controllers[CG_V1_N] = { "memory", "pids",
    "cpu" };

static int
write_file(const char *dir, const char *name, const char *value,
    struct audit_err *err)
{
	char path[CG_PATH_MAX + 64];
	int fd;
	ssize_t n;

	if (audit_fit(path, sizeof(path), err, "%s/%s", dir, name) != 0)
		return -1;
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0)
		return audit_errf(err, "cgroup: %s: %s", path, strerror(errno));
	n = write(fd, value, strlen(value));
	if (n < 0 || (size_t)n != strlen(value)) {
		audit_errf(err, "cgroup: %s: cannot write %s: %s", path, value,
		    n < 0 ? strerror(errno) : "short write");
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static int
read_line(const char *path, char *buf, size_t bufsz)
{
	FILE *f = fopen(path, "re");

	buf[0] = '\0';
	if (f == NULL)
		return -1;
	if (fgets(buf, (int)bufsz, f) == NULL)
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static int
is_fs(const char *path, long magic)
{
	struct statfs st;

	return statfs(path, &st) == 0 && st.f_type == magic;
}

static int
has_word(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = list; (p = strstr(p, word)) != NULL; p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == '\0' ||
		    p[n] == ' '))
			return 1;
	return 0;
}

/*
 * Which cgroup version a pod can use here, and why not the other.  The
 * unified hierarchy is /sys/fs/cgroup itself (v2 only) or
 * /sys/fs/cgroup/unified (a hybrid).
 */
void
cgroup_probe(struct cgroup_facts *f)
{
	static const char *const unified[] = { "/sys/fs/cgroup",
	    "/sys/fs/cgroup/unified" };
	char path[CG_PATH_MAX], ctl[512];

	memset(f, 0, sizeof(*f));
	for (size_t i = 0; i < 2; i++) {
		if (!is_fs(unified[i], CGROUP2_SUPER_MAGIC))
			continue;
		if (audit_fit(path, sizeof(path), NULL, "%s/cgroup.controllers",
		    unified[i]) != 0 || read_line(path, ctl, sizeof(ctl)) != 0 ||
		    audit_fit(f->v2_root, sizeof(f->v2_root), NULL, "%s",
		    unified[i]) != 0)
			continue;
		/* For messages (doctor's report): a cut is harmless. */
		audit_fmt(f->v2_controllers, sizeof(f->v2_controllers), "%s",
		    ctl);
		f->v2 = has_word(ctl, "memory") && has_word(ctl, "pids") &&
		    has_word(ctl, "cpu");
		break;
	}
	for (int i = 0; i < CG_V1_N; i++) {
		f->v1_has[i] = audit_fit(path, sizeof(path), NULL,
		    "/sys/fs/cgroup/%s", v1_controllers[i]) == 0 &&
		    is_fs(path, CGROUP_SUPER_MAGIC);
	}
	f->v1 = f->v1_has[0] && f->v1_has[1] && f->v1_has[2];
}

static int
make_dir(const char *path, struct audit_err *err)
{
	if (mkdir(path, 0755) != 0 && errno != EEXIST)
		return audit_errf(err, "cgroup: cannot make %s: %s", path,
		    strerror(errno));
	return 0;
}
/* v2: <root>/nucleus/<pod>, its memory, pids and cpu limits written. */
static int
create_v2(struct cgroup *cg, const struct cgroup_facts *f, const char *pod,
    const struct limits *lim, struct audit_err *err)
{
	char v[64];

	cg->version = 2;
	if (audit_fit(cg->dir[0], sizeof(cg->dir[0]), err, "%s/nucleus",
	    f->v2_root) != 0 ||
	    make_dir(cg->dir[0], err) != 0 ||
	    write_file(f->v2_root, "cgroup.subtree_control",
	    "+memory +pids +cpu", err) != 0 ||
	    write_file(cg->dir[0], "cgroup.subtree_control",
	    "+memory +pids +cpu", err) != 0)
		return -1;
	if (audit_fit(cg->dir[0], sizeof(cg->dir[0]), err,
	    "%s/nucleus/%s", f->v2_root, pod) != 0 ||
	    make_dir(cg->dir[0], err) != 0)
		return -1;
	cg->n = 1;
	if (audit_fit(v, sizeof(v), err, "%llu", (unsigned long long)
	    lim->memory_mib << 20) != 0 ||
	    write_file(cg->dir[0], "memory.max", v, err) != 0 ||
	    write_file(cg->dir[0], "memory.swap.max", "0", err) != 0)
		return -1;
	if (audit_fit(v, sizeof(v), err, "%u", lim->pids) != 0 ||
	    write_file(cg->dir[0], "pids.max", v, err) != 0)
		return -1;
	if (audit_fit(v, sizeof(v), err, "%u %u", lim->cpus_milli *
	    (CPU_PERIOD_US / 1000), CPU_PERIOD_US) != 0 ||
	    write_file(cg->dir[0], "cpu.max", v, err) != 0)
		return -1;
	return 0;
}

/* v1: /sys/fs/cgroup/<controller>/nucleus/<pod> for each controller. */
static int
create_v1_dirs(struct cgroup *cg, const char *pod, struct audit_err *err)
{
	cg->version = 1;
	for (int i = 0; i < CG_V1_N; i++) {
		char parent[CG_PATH_MAX];

		if (audit_fit(parent, sizeof(parent), err,
		    "/sys/fs/cgroup/%s/nucleus", v1_controllers[i]) != 0 ||
		    make_dir(parent, err) != 0)
			return -1;
		if (audit_fit(cg->dir[i], sizeof(cg->dir[i]), err, "%s/%s",
		    parent, pod) != 0 ||
		    make_dir(cg->dir[i], err) != 0)
			return -1;
		cg->n = i + 1;
	}
	return 0;
}

/* v1: the limits, each in its controller's directory. */
static int
create_v1_limits(struct cgroup *cg, const struct limits *lim,
    struct audit_err *err)
{
	char v[64];

	if (audit_fit(v, sizeof(v), err, "%llu",
	    (unsigned long long)lim->memory_mib << 20) != 0 ||
	    write_file(cg->dir[0], "memory.limit_in_bytes", v, err) != 0)
		return -1;
	/* No swap to spill into, where the kernel accounts it. */
	if (access("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes",
	    F_OK) == 0 && write_file(cg->dir[0], "memory.memsw.limit_in_bytes",
	    v, err) != 0)
		return -1;
	if (audit_fit(v, sizeof(v), err, "%u", lim->pids) != 0 ||
	    write_file(cg->dir[1], "pids.max", v, err) != 0)
		return -1;
	if (audit_fit(v, sizeof(v), err, "%u", CPU_PERIOD_US) != 0 ||
	    write_file(cg->dir[2], "cpu.cfs_period_us", v, err) != 0)
		return -1;
	if (audit_fit(v, sizeof(v), err, "%u", lim->cpus_milli *
	    (CPU_PERIOD_US / 1000)) != 0 ||
	    write_file(cg->dir[2], "cpu.cfs_quota_us", v, err) != 0)
		return -1;
	return 0;
}

/* Make the pod's cgroup and set its limits; no process is in it yet. */
int
cgroup_create(struct cgroup *cg, const char *pod, const struct limits *lim,
    struct audit_err *err)
{
	struct cgroup_facts f;
	int rc;

	memset(cg, 0, sizeof(*cg));
	cgroup_probe(&f);
	if (f.v2)
		rc = create_v2(cg, &f, pod, lim, err);
	else if (f.v1)
		rc = create_v1_dirs(cg, pod, err) != 0 ||
		    create_v1_limits(cg, lim, err) != 0 ? -1 : 0;
	else
		return audit_errf(err, "cgroup: neither a v2 hierarchy with "
		    "memory, pids and cpu (controllers: %s) nor v1 memory, "
		    "pids and cpu hierarchies", f.v2_controllers[0] ?
		    f.v2_controllers : "none");
	/* What was made of it goes again (cg->n counts the directories). */
	if (rc != 0)
		(void)cgroup_remove(cg);
	return rc;
}

/* Put pid in the pod's cgroup (every hierarchy of it). */
int
cgroup_enter(const struct cgroup *cg, pid_t pid, struct audit_err *err)
{
	char v[32];

	if (audit_fit(v, sizeof(v), err, "%d", (int)pid) != 0)
		return -1;
	for (int i = 0; i < cg->n; i++)
		if (write_file(cg->dir[i], "cgroup.procs", v, err) != 0)
			return -1;
	return 0;
}

/* Was the pod's memory limit hit (an OOM kill in it)? */
int
cgroup_oom_kills(const struct cgroup *cg)
{
	char path[CG_PATH_MAX + 32], line[256];
	FILE *f;
	int n = 0;

	if (cg->n == 0)
		return 0;
	if (audit_fit(path, sizeof(path), NULL, "%s/%s", cg->dir[0],
	    cg->version == 2 ? "memory.events" : "memory.oom_control") != 0)
		return 0;
	if ((f = fopen(path, "re")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned long long v;

		if (strncmp(line, "oom_kill ", 9) == 0 &&
		    num_parse_un(line + 9, strcspn(line + 9, "\n"), 0, INT_MAX,
		    &v) == NUM_OK) {
			n = (int)v;
			break;
		}
	}
	fclose(f);
	return n;
}

/* Remove the cgroup, once its processes are gone; how many are left. */
int
cgroup_remove(struct cgroup *cg)
{
	int left = 0;

	for (int i = 0; i < cg->n; i++) {
		if (cg->dir[i][0] == '\0')
			continue;
		if (rmdir(cg->dir[i]) == 0 || errno == ENOENT)
			cg->dir[i][0] = '\0';
		else
			left++;
	}
	if (left == 0)
		cg->n = 0;
	return left;
}
