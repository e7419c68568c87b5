/*
 * The Firecracker driver's command line: firecracker alone, and under
 * its jailer; the jailer's chroot; finding programs on PATH; and the
 * refusals.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "node.h"
#include "tap.h"

/* The argv as one string, words separated by a space. */
static const char *
joined(const struct fc_cmd *c)
{
	static char buf[2048];
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; c->argv[i] != NULL; i++) {
		size_t n = strlen(c->argv[i]) + (i > 0);

		if (o + n >= sizeof(buf)) {
			printf("Bail out! the command line is over %zu bytes\n",
			    sizeof(buf));
			exit(1);
		}
		if (i > 0)
			buf[o++] = ' ';
		memcpy(buf + o, c->argv[i], n - (i > 0));
		o += n - (i > 0);
		buf[o] = '\0';
	}
	return buf;
}

static void
refused(const struct fc_exec *x, const char *pod, const char *config,
    const char *msg, const char *what)
{
	struct fc_cmd c;
	struct audit_err e = { "" };

	if (!ok(fc_argv(&c, x, pod, config, &e) == -1 && strstr(e.msg, msg) !=
	    NULL, "refused: %s", what))
		diag("got \"%s\"", e.msg);
}

static void
argvs(void)
{
	struct fc_exec x = { .firecracker = "/usr/bin/firecracker",
	    .uid = 100000, .gid = 100001, .cgroup_version = 2 };
	struct fc_cmd c;
	struct audit_err e;

	ok(fc_argv(&c, &x, "p-1", "/var/lib/nucleus/pods/p-1/firecracker.json",
	    &e) == 0, "firecracker alone");
	is_str(joined(&c), "/usr/bin/firecracker --no-api --config-file "
	    "/var/lib/nucleus/pods/p-1/firecracker.json", "its argv");
	ok(c.argv[4] == NULL, "ends with NULL");

	x.jailer = "/usr/bin/jailer";
	ok(fc_argv(&c, &x, "p-1", "/firecracker.json", &e) == 0,
	    "under the jailer");
	is_str(joined(&c), "/usr/bin/jailer --id p-1 --exec-file "
	    "/usr/bin/firecracker --uid 100000 --gid 100001 --cgroup-version 2 "
	    "-- --no-api --config-file /firecracker.json", "its argv");
	x.cgroup_version = 1;
	x.chroot_base = "/var/lib/nucleus/jail";
	ok(fc_argv(&c, &x, "P-0001-abc", "/firecracker.json", &e) == 0,
	    "cgroup v1, a chroot base");
	is_str(joined(&c), "/usr/bin/jailer --id P-0001-abc --exec-file "
	    "/usr/bin/firecracker --uid 100000 --gid 100001 --cgroup-version 1 "
	    "--chroot-base-dir /var/lib/nucleus/jail -- --no-api --config-file "
	    "/firecracker.json", "its argv");
	ok(strstr(joined(&c), "--no-seccomp") == NULL &&
	    strstr(joined(&c), "--api-sock") == NULL,
	    "Firecracker's own seccomp filter stays; no API socket");
}

static void
refusals(void)
{
	struct fc_exec x = { .firecracker = "/usr/bin/firecracker",
	    .jailer = "/usr/bin/jailer", .uid = 1, .gid = 1,
	    .cgroup_version = 2 };
	char id[FC_ID_MAX + 2];

	refused(&x, "p.1", "/c.json", "[A-Za-z0-9-]", "a dot in the jail id");
	refused(&x, "p_1", "/c.json", "[A-Za-z0-9-]", "an underscore");
	memset(id, 'a', FC_ID_MAX + 1);
	id[FC_ID_MAX + 1] = '\0';
	refused(&x, id, "/c.json", "1 to 64 characters", "65 characters");
	id[FC_ID_MAX] = '\0';
	{
		struct fc_cmd c;
		struct audit_err e;

		ok(fc_argv(&c, &x, id, "/c.json", &e) == 0, "64 characters");
	}
	refused(&x, "p-1", "", "no config file", "no config file");
	refused(&x, "p-1", "/a\nb", "config file: a control character",
	    "a newline in the config path");
	x.cgroup_version = 3;
	refused(&x, "p-1", "/c.json", "cgroup version 3: expected 1 or 2",
	    "cgroup version 3");
	x.cgroup_version = 2;
	x.firecracker = "/usr/bin/vmm";
	refused(&x, "p-1", "/c.json", "holds \"firecracker\"",
	    "the jailer runs only firecracker");
	x.firecracker = "firecracker";
	refused(&x, "p-1", "/c.json", "absolute path", "a relative program");
	x.firecracker = "/usr/bin/firecracker";
	x.jailer = "jailer";
	refused(&x, "p-1", "/c.json", "jailer: expected the program's "
	    "absolute path", "a relative jailer");
	x.jailer = NULL;
	{
		struct fc_cmd c;
		struct audit_err e;

		ok(fc_argv(&c, &x, "p_1.x", "/c.json", &e) == 0,
		    "firecracker alone takes any pod name");
	}
}

static void
jail_root(void)
{
	struct fc_exec x = { .firecracker = "/opt/fc/firecracker-v1.9",
	    .jailer = "/opt/fc/jailer", .cgroup_version = 2 };
	struct audit_err e;
	char root[256];

	ok(fc_jail_root(&x, "p-1", root, sizeof(root), &e) == 0 &&
	    strcmp(root, "/srv/jailer/firecracker-v1.9/p-1/root") == 0,
	    "the jail: the default base, the program's name, the pod");
	x.chroot_base = "/var/lib/nucleus/jail";
	ok(fc_jail_root(&x, "p-1", root, sizeof(root), &e) == 0 &&
	    strcmp(root, "/var/lib/nucleus/jail/firecracker-v1.9/p-1/root") ==
	    0, "and under a chroot base");
	ok(fc_jail_root(&x, "p-1", root, 20, &e) == -1 &&
	    strstr(e.msg, "path too long") != NULL, "too long for the buffer");
}

static void
which(void)
{
	char dir[] = "/tmp/nucleus-t4005.XXXXXX", path[512], want[512];
	FILE *f;

	if (mkdtemp(dir) == NULL) {
		ok(0, "mkdtemp");
		return;
	}
	snprintf(want, sizeof(want), "%s/jailer", dir);
	f = fopen(want, "w");
	if (f != NULL)
		fclose(f);
	chmod(want, 0644);
	setenv("PATH", dir, 1);
	ok(vm_which("jailer", path, sizeof(path)) == -1 && path[0] == '\0',
	    "a file that is not executable is not found");
	chmod(want, 0755);
	ok(vm_which("jailer", path, sizeof(path)) == 0 &&
	    strcmp(path, want) == 0, "an executable one is");
	snprintf(path, sizeof(path), "relative:%s", dir);
	setenv("PATH", path, 1);
	ok(vm_which("jailer", path, sizeof(path)) == 0 &&
	    strcmp(path, want) == 0, "after a relative entry, skipped");
	if (chdir(dir) == 0) {
		setenv("PATH", ".:/nonexistent", 1);
		ok(vm_which("jailer", path, sizeof(path)) == -1,
		    "never from . on PATH");
		setenv("PATH", ":/nonexistent", 1);
		ok(vm_which("jailer", path, sizeof(path)) == -1,
		    "never from an empty entry at the start of PATH");
		setenv("PATH", "/nonexistent::/nonexistent2", 1);
		ok(vm_which("jailer", path, sizeof(path)) == -1,
		    "nor in its middle");
		setenv("PATH", "/nonexistent:", 1);
		ok(vm_which("jailer", path, sizeof(path)) == -1,
		    "nor at its end");
	}
	ok(vm_which("../jailer", path, sizeof(path)) == -1,
	    "a name with a slash is not looked up");
	setenv("PATH", "/usr/bin:/bin", 1);
	ok(vm_which("no-such-program-t4005", path, sizeof(path)) == -1,
	    "a missing program is not found");
	ok(vm_which("sh", path, sizeof(path)) == 0, "sh is: %s", path);
	unlink(want);
	rmdir(dir);
}

int
main(void)
{
	argvs();
	refusals();
	jail_root();
	which();
	return done_testing();
}
