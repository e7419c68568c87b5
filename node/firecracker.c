/*
 * The Firecracker driver's host side: the VM's configuration file, and
 * the command line that starts Firecracker (directly, or under its
 * jailer where one is installed).
 *
 * Firecracker runs with --no-api: nothing can reconfigure the VM once it
 * runs, and there is no API socket to guard.  Its whole configuration is
 * the file written here:
 *
 *	boot-source	the kernel, the pod's initramfs (the guest's root),
 *			the boot arguments the caller makes
 *	drives		"root", the read-only squashfs; "scratch", the pod's
 *			writable ext4 image; neither is the root device
 *	machine-config	vCPUs and memory from the pod spec, no SMT
 *	vsock		the pod's one channel (vsock.c bridges it)
 *
 * Every value is checked against what Firecracker's API description
 * allows before it is written, so that a spec Firecracker would refuse
 * is refused here, with a message naming the limit.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "node.h"

/* A path the config may hold: absolute or not, printable, bounded. */
static int
path_ok(const char *what, const char *p, size_t max, struct audit_err *err)
{
	size_t len;

	if (p == NULL || (len = strlen(p)) == 0)
		return audit_errf(err, "firecracker: no %s", what);
	if (len > max)
		return audit_errf(err, "firecracker: %s: longer than %zu bytes",
		    what, max);
	if (!audit_printable(p, len))
		return audit_errf(err, "firecracker: %s: a control "
		    "character, or not UTF-8", what);
	return 0;
}

/* The kernel's command line: printable ASCII, spaces between words. */
static int
boot_args_ok(const char *a, struct audit_err *err)
{
	size_t i, len;

	if (a == NULL || (len = strlen(a)) == 0)
		return audit_errf(err, "firecracker: no boot arguments");
	if (len > FC_BOOT_ARGS_MAX)
		return audit_errf(err, "firecracker: boot arguments: longer "
		    "than %d bytes", FC_BOOT_ARGS_MAX);
	for (i = 0; i < len; i++)
		if ((unsigned char)a[i] < 0x20 || (unsigned char)a[i] > 0x7e)
			return audit_errf(err, "firecracker: boot arguments: "
			    "not printable ASCII at byte %zu", i);
	return 0;
}

static int
files_ok(const struct fc_files *f, struct audit_err *err)
{
	if (path_ok("kernel", f->kernel, FC_PATH_MAX, err) != 0 ||
	    path_ok("initrd", f->initrd, FC_PATH_MAX, err) != 0 ||
	    path_ok("root image", f->root, FC_PATH_MAX, err) != 0 ||
	    path_ok("scratch image", f->scratch, FC_PATH_MAX, err) != 0 ||
	    path_ok("vsock socket", f->vsock, FC_UDS_MAX, err) != 0)
		return -1;
	return boot_args_ok(f->boot_args, err);
}

/*
 * vCPUs: the spec's CPUs rounded up (a pod given 1.5 CPUs of time by its
 * cgroup may use two vCPUs for it), at least one, at most Firecracker's
 * maximum.  Without SMT Firecracker takes any count in [1, 32]; its
 * "1 or an even number" is for SMT, which is off.
 */
static int
vcpus(const struct limits *lim, long long *out, struct audit_err *err)
{
	unsigned long long n = ((unsigned long long)lim->cpus_milli + 999) /
	    1000;

	if (n < 1)
		n = 1;
	if (n > FC_VCPU_MAX)
		return audit_errf(err, "resources.cpus: %llu is more than the "
		    "%d vCPUs Firecracker allows", n, FC_VCPU_MAX);
	*out = (long long)n;
	return 0;
}

json_t *
fc_config(const struct podspec *spec, const struct fc_files *f,
    struct audit_err *err)
{
	long long ncpu = 0;
	json_t *o;

	if (files_ok(f, err) != 0 || vcpus(&spec->lim, &ncpu, err) != 0)
		return NULL;
	if (spec->lim.memory_mib < 1 || spec->lim.memory_mib > INT64_MAX) {
		audit_errf(err, "resources.memory_mib: out of range");
		return NULL;
	}
	/*
	 * No "network-interfaces": a pod spec has no egress allowlist yet,
	 * so the VM has no network device at all and egress is denied by
	 * construction.  A tap in a per-pod namespace comes with the
	 * allowlist.
	 */
	o = json_pack("{s:{s:s, s:s, s:s},"
	    " s:[{s:s, s:s, s:b, s:b}, {s:s, s:s, s:b, s:b}],"
	    " s:{s:I, s:I, s:b},"
	    " s:{s:i, s:s}}",
	    "boot-source",
		"kernel_image_path", f->kernel,
		"initrd_path", f->initrd,
		"boot_args", f->boot_args,
	    "drives",
		"drive_id", "root", "path_on_host", f->root,
		"is_root_device", 0, "is_read_only", 1,
		"drive_id", "scratch", "path_on_host", f->scratch,
		"is_root_device", 0, "is_read_only", 0,
	    "machine-config",
		"vcpu_count", (json_int_t)ncpu,
		"mem_size_mib", (json_int_t)spec->lim.memory_mib,
		"smt", 0,
	    "vsock",
		"guest_cid", FC_GUEST_CID, "uds_path", f->vsock);
	if (o == NULL)
		audit_errf(err, "firecracker: cannot make the configuration "
		    "(a path that is not UTF-8?)");
	return o;
}

/*
 * Write the configuration to dir/FC_CONFIG_NAME, mode 0600, owned by the
 * uid Firecracker runs as (it reads the file after dropping to it).  A
 * pod's directory is new, so the file must not exist: O_EXCL and
 * O_NOFOLLOW refuse anything planted there.  The path written goes to
 * path (pathsz bytes).
 */
int
fc_config_write(const char *dir, const json_t *config, uid_t uid, gid_t gid,
    char *path, size_t pathsz, struct audit_err *err)
{
	char *text = NULL;
	int fd = -1, rc = -1;

	if (audit_fit(path, pathsz, err, "%s/%s", dir, FC_CONFIG_NAME) != 0)
		return -1;
	text = json_dumps(config, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (text == NULL) {
		audit_errf(err, "%s: cannot encode the configuration", path);
		goto out;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd < 0) {
		audit_errf(err, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (audit_writeall(fd, text, strlen(text)) != 0 ||
	    audit_writeall(fd, "\n", 1) != 0 || fchown(fd, uid, gid) != 0 ||
	    fsync(fd) != 0) {
		audit_errf(err, "%s: %s", path, strerror(errno));
		unlink(path);
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	free(text);
	return rc;
}

/*
 * Find an executable regular file called name on PATH, into out.  Only
 * absolute PATH entries count: a daemon running as root never runs a
 * program found relative to wherever it happens to be.
 */
int
vm_which(const char *name, char *out, size_t outsz)
{
	const char *path = getenv("PATH"), *p, *q;
	struct stat st;

	if (path == NULL || *path == '\0')
		path = "/usr/local/bin:/usr/bin:/bin";
	if (strchr(name, '/') != NULL || *name == '\0')
		return -1;
	for (p = path; *p != '\0'; p = *q == ':' ? q + 1 : q) {
		q = p + strcspn(p, ":");
		/* Empty and relative entries are skipped; a name that does
		 * not fit is not looked for, never cut. */
		if (*p != '/' || audit_fit(out, outsz, NULL, "%.*s/%s",
		    (int)(q - p), p, name) != 0)
			continue;
		if (stat(out, &st) == 0 && S_ISREG(st.st_mode) &&
		    access(out, X_OK) == 0)
			return 0;
	}
	*out = '\0';
	return -1;
}

/* The jailer's --id: 1 to FC_ID_MAX of [A-Za-z0-9-]. */
static int
jail_id_ok(const char *pod, struct audit_err *err)
{
	size_t len = strlen(pod);

	if (len == 0 || len > FC_ID_MAX || strspn(pod, "abcdefghijklmnopqrstu"
	    "vwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") != len)
		return audit_errf(err, "pod \"%.64s\": the jailer takes 1 to "
		    "%d characters of [A-Za-z0-9-] as its --id", pod,
		    FC_ID_MAX);
	return 0;
}

/* The jailer copies exec-file into its chroot and insists on its name. */
static int
exec_ok(const struct fc_exec *x, struct audit_err *err)
{
	const char *base;

	if (x->firecracker == NULL || x->firecracker[0] != '/')
		return audit_errf(err, "firecracker: expected the program's "
		    "absolute path");
	base = strrchr(x->firecracker, '/') + 1;
	if (x->jailer == NULL)
		return 0;
	if (x->jailer[0] != '/')
		return audit_errf(err, "jailer: expected the program's "
		    "absolute path");
	if (strstr(base, "firecracker") == NULL)
		return audit_errf(err, "%s: the jailer runs only a program "
		    "whose name holds \"firecracker\"", x->firecracker);
	if (x->cgroup_version != 1 && x->cgroup_version != 2)
		return audit_errf(err, "jailer: cgroup version %d: expected 1 "
		    "or 2", x->cgroup_version);
	return 0;
}

int
fc_argv(struct fc_cmd *c, const struct fc_exec *x, const char *pod,
    const char *config, struct audit_err *err)
{
	size_t n = 0;

	memset(c, 0, sizeof(*c));
	if (exec_ok(x, err) != 0 || path_ok("config file", config,
	    FC_PATH_MAX, err) != 0)
		return -1;
	if (x->jailer != NULL) {
		if (jail_id_ok(pod, err) != 0 ||
		    audit_fit(c->uid, sizeof(c->uid), err, "%lu",
		    (unsigned long)x->uid) != 0 ||
		    audit_fit(c->gid, sizeof(c->gid), err, "%lu",
		    (unsigned long)x->gid) != 0 ||
		    audit_fit(c->cgroup_version, sizeof(c->cgroup_version), err,
		    "%d", x->cgroup_version) != 0)
			return -1;
		c->argv[n++] = (char *)x->jailer;
		c->argv[n++] = (char *)"--id";
		c->argv[n++] = (char *)pod;
		c->argv[n++] = (char *)"--exec-file";
		c->argv[n++] = (char *)x->firecracker;
		c->argv[n++] = (char *)"--uid";
		c->argv[n++] = c->uid;
		c->argv[n++] = (char *)"--gid";
		c->argv[n++] = c->gid;
		c->argv[n++] = (char *)"--cgroup-version";
		c->argv[n++] = c->cgroup_version;
		if (x->chroot_base != NULL) {
			c->argv[n++] = (char *)"--chroot-base-dir";
			c->argv[n++] = (char *)x->chroot_base;
		}
		/* What follows is Firecracker's. */
		c->argv[n++] = (char *)"--";
	} else
		c->argv[n++] = (char *)x->firecracker;
	/* No API socket: the configuration is fixed at start. */
	c->argv[n++] = (char *)"--no-api";
	c->argv[n++] = (char *)"--config-file";
	c->argv[n++] = (char *)config;
	c->argv[n] = NULL;
	return 0;
}

/*
 * Where the jailer makes its chroot for a pod: what the caller links or
 * copies the kernel, images and config into, and where the vsock's
 * socket appears.  <base>/<the program's file name>/<pod>/root.
 */
int
fc_jail_root(const struct fc_exec *x, const char *pod, char *out,
    size_t outsz, struct audit_err *err)
{
	if (exec_ok(x, err) != 0 || jail_id_ok(pod, err) != 0)
		return -1;
	if (audit_fit(out, outsz, err, "%s/%s/%s/root", x->chroot_base !=
	    NULL ? x->chroot_base : FC_JAIL_BASE,
	    strrchr(x->firecracker, '/') + 1, pod) != 0)
		return audit_errf(err, "the jailer's root for %s: path too "
		    "long", pod);
	return 0;
}
