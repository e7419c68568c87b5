/*
 * The local driver's sandbox, seen from inside: probes run as shell
 * scripts in it and report on descriptor 3.  Needs root (for the
 * cgroups); skipped otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "node.h"
#include "tap.h"

static const struct limits small = { .memory_mib = 64, .scratch_mib = 4,
    .pids = 16, .cpus_milli = 500 };

/* Run script in a sandbox named name; what it writes to fd 3 in out. */
static int
probe(const char *name, const struct limits *lim, const char *script,
    char *out, size_t outsz, int *code)
{
	char *argv[] = { "/bin/sh", "-c", (char *)script, NULL };
	struct sandbox_spec spec = { .name = name, .argv = argv,
	    .binds = { "/usr", "/bin", "/lib", "/lib64", "/sbin", NULL },
	    .lim = *lim, .uid = 65534, .gid = 65534, .fds = { -1, -1 } };
	struct sandbox sb;
	struct audit_err e;
	size_t len = 0;
	ssize_t n;
	int p[2];

	if (pipe2(p, O_CLOEXEC) != 0)
		return -1;
	spec.fds[0] = p[1];
	if (sandbox_start(&spec, &sb, &e) != 0) {
		diag("%s", e.msg);
		close(p[0]);
		close(p[1]);
		return -1;
	}
	close(p[1]);
	while (len + 1 < outsz && (n = read(p[0], out + len, outsz - len -
	    1)) > 0)
		len += (size_t)n;
	out[len] = '\0';
	close(p[0]);
	if (sandbox_wait(&sb, code) != 0)
		return -1;
	(void)sandbox_release(&sb, 5000);
	return 0;
}

static void
check(const char *what, const char *script, const char *want)
{
	char out[8192];
	int code;

	if (probe("p-probe", &small, script, out, sizeof(out), &code) != 0) {
		ok(0, "%s", what);
		return;
	}
	if (!ok(strcmp(out, want) == 0, "%s", what))
		diag("got \"%s\" (exit %d), wanted \"%s\"", out, code, want);
}

int
main(void)
{
	struct cgroup_facts f;
	char out[4096];
	int code;

	if (geteuid() != 0) {
		skip("the sandbox's cgroups need root");
		return done_testing();
	}
	cgroup_probe(&f);
	diag("cgroup v2 %s (%s), v1 %s", f.v2 ? "usable" : "not usable",
	    f.v2_controllers, f.v1 ? "usable" : "not usable");

	check("only the loopback interface, and it is up",
	    "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' >&3; "
	    "cat /sys/class/net/lo/operstate 2>/dev/null >&3; "
	    "grep -c . /proc/net/route >&3", "lo\n1\n");
	check("uid 0 inside, with no capability at all",
	    "id -u >&3; grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb)' /proc/self/status"
	    " | tr -s '\\t' ' ' >&3",
	    "0\nCapInh: 0000000000000000\nCapPrm: 0000000000000000\n"
	    "CapEff: 0000000000000000\nCapBnd: 0000000000000000\n"
	    "CapAmb: 0000000000000000\n");
	check("the root and the binds are read-only; /work and /tmp are not",
	    "touch /x 2>/dev/null || echo root-ro >&3; "
	    "touch /usr/x 2>/dev/null || echo usr-ro >&3; "
	    "echo hi >/work/a && cat /work/a >&3; echo t >/tmp/t && "
	    "cat /tmp/t >&3; test -d /var/lib/nucleus && echo state >&3",
	    "root-ro\nusr-ro\nhi\nt\nstate\n");
	check("the scratch holds scratch_mib and no more",
	    "head -c 3000000 /dev/zero >/work/a && echo 3m >&3; rm /work/a; "
	    "head -c 5000000 /dev/zero >/work/b 2>/dev/null || echo full >&3; "
	    "rm /work/b; head -c 5000000 /dev/zero >/tmp/c 2>/dev/null || "
	    "echo shared >&3", "3m\nfull\nshared\n");
	check("the host's processes are not there: pid 1 is the init",
	    "n=$(ls /proc | grep -c '^[0-9]'); [ $n -lt 6 ] && echo few >&3; "
	    "echo $$ >&3", "few\n2\n");
	check("the hostname is the pod's", "hostname >&3 2>/dev/null || "
	    "cat /proc/sys/kernel/hostname >&3", "p-probe\n");
	check("a fork bomb stops at pids.max",
	    "( i=0; while [ $i -lt 40 ]; do sleep 2 & i=$((i + 1)); "
	    "echo $i >/tmp/n; done ) 2>/dev/null; read n </tmp/n; "
	    "[ $n -lt 16 ] && echo capped >&3", "capped\n");

	if (probe("p-hog", &small, "dd if=/dev/zero of=/dev/null bs=200M "
	    "count=1 2>/dev/null; echo $? >&3", out, sizeof(out), &code) == 0)
		ok(strcmp(out, "137\n") == 0,
		    "a memory hog is killed at memory.max (got %.3s)", out);
	else
		ok(0, "a memory hog is killed at memory.max");

	{
		char *argv[] = { "/bin/true", NULL };
		struct sandbox_spec spec = { .name = "p-caps", .argv = argv,
		    .binds = { "/usr", "/bin", "/lib", "/lib64", NULL },
		    .lim = small, .uid = 65534, .gid = 65534,
		    .fds = { -1 } };
		struct sandbox sb;
		struct audit_err e;
		char path[CG_PATH_MAX + 32], v[64] = "";
		FILE *fp;

		if (sandbox_start(&spec, &sb, &e) == 0) {
			if (audit_fit(path, sizeof(path), NULL, "%s/%s",
			    sb.cg.dir[sb.cg.version == 2 ? 0 : 2],
			    sb.cg.version == 2 ? "cpu.max" :
			    "cpu.cfs_quota_us") == 0 &&
			    (fp = fopen(path, "re")) != NULL) {
				if (fgets(v, sizeof(v), fp) == NULL)
					v[0] = '\0';
				fclose(fp);
			}
			v[strcspn(v, "\n")] = '\0';
			ok(strcmp(v, "50000") == 0, "half a CPU: %s is %s",
			    path, v);
			sandbox_wait(&sb, &code);
			(void)sandbox_release(&sb, 5000);
			ok(code == 0 && sb.cg.n == 0, "ended, cgroup removed");
		} else {
			diag("%s", e.msg);
			ok(0, "half a CPU");
		}
	}
	{
		char *argv[] = { "/no/such/program", NULL };
		struct sandbox_spec spec = { .name = "p-bad", .argv = argv,
		    .binds = { "/usr", NULL }, .lim = small, .uid = 65534,
		    .gid = 65534, .fds = { -1 } };
		struct sandbox sb;
		struct audit_err e;

		ok(sandbox_start(&spec, &sb, &e) != 0 &&
		    strstr(e.msg, "exec /no/such/program") != NULL,
		    "a program that cannot start: the error says which step "
		    "(%s)", e.msg);
		spec.argv = (char *[]){ "/bin/true", NULL };
		spec.binds[0] = "/no/such/dir";
		ok(sandbox_start(&spec, &sb, &e) != 0 &&
		    strstr(e.msg, "bind /no/such/dir") != NULL,
		    "a bind that cannot be made: nothing runs (%s)", e.msg);
	}
	return done_testing();
}
