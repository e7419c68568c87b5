/*
 * The spawner: the one process that starts commands.
 *
 * It is forked at start, before the proxy opens its log (so before it
 * has threads) and before the proxy installs its own seccomp allowlist,
 * which permits no execve.  It holds nothing secret: not the audit key,
 * not the state, not the agent's requests, only the config's search path,
 * environment and limits.
 *
 * Each command runs in a PID namespace of its own, whose init is a copy
 * of the spawner (cmd_init) that starts the command, reaps every orphan
 * and ends with it: when the init ends, the kernel kills whatever else is
 * in the namespace, however deep or detached (setsid, double forks), and
 * the spawner hears of the command's end only once all of it is gone.  A
 * timeout or a kill kills that init.  Where the spawner lacks
 * CAP_SYS_ADMIN (an unprivileged proxy; a local pod's proxy is given it
 * for its spawner alone), the namespace comes with a user namespace of
 * its own.  A command whose namespace cannot be made does not run.
 *
 * For each command, in the child between fork and exec: a new session and
 * process group, the pipes as stdin/stdout/stderr and nothing else open,
 * the working directory it was handed, rlimits, the pod's user (when the
 * pod file names one), no_new_privs, the Landlock ruleset and the seccomp
 * filter, then execve(2) on each directory of the search path in turn.
 * A failure before exec is reported through a close-on-exec pipe.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/landlock.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "reap.h"
#include "sandbox.h"
#include "spawn.h"
#include "egress.h"

#define JOBS_MAX	256
#define BPF_MAX		(64 * 1024)	/* bytes of the command filter */
#define GIT_SCAN_MAX	(64 * 1024)	/* bytes of driver keys git may list */
#define GIT_OFF_MAX	64	/* driver keys forced off for one command */

struct sjob {
	uint32_t id;
	pid_t	 pid;		/* its namespace's init */
	int	 status_fd;	/* the init writes the command's status */
};

struct spawner {
	const struct config *cfg;
	int	 sock;
	struct sock_fprog prog;	/* the command filter, compiled once */
	int	 ruleset;	/* Landlock, or -1 */
	char	**envp;
	char	**git_envp;	/* for git: another HOME */
	struct sjob jobs[JOBS_MAX];
	int	 njobs;
	int	 userns;	/* 1: namespaces need a user namespace */
};

/*
 * The filter as BPF, generated once: seccomp_load() would generate it
 * again in every child, which costs more than the fork.
 */
static int
compile(scmp_filter_ctx f, struct sock_fprog *prog, struct audit_err *err)
{
	int fd = memfd_create("nucleus-bpf", MFD_CLOEXEC), rc;
	void *buf = NULL;
	off_t len;

	if (fd < 0)
		return audit_errf(err, "seccomp: memfd: %s", strerror(errno));
	if ((rc = seccomp_export_bpf(f, fd)) != 0) {
		close(fd);
		return audit_errf(err, "seccomp: cannot export the command "
		    "filter: %s", strerror(-rc));
	}
	len = lseek(fd, 0, SEEK_END);
	if (len <= 0 || len > BPF_MAX || len % sizeof(struct sock_filter) ||
	    (buf = malloc((size_t)len)) == NULL ||
	    pread(fd, buf, (size_t)len, 0) != len) {
		free(buf);
		close(fd);
		return audit_errf(err, "seccomp: the command filter cannot be "
		    "read back");
	}
	close(fd);
	prog->len = (unsigned short)(len / sizeof(struct sock_filter));
	prog->filter = buf;
	return 0;
}

static void
send_event(struct spawner *s, uint32_t type, uint32_t job, pid_t pid,
    int status, int error)
{
	struct spawn_msg m = { type, job, 0, 0, pid, status, error, 0 };

	(void)!send(s->sock, &m, sizeof(m), MSG_NOSIGNAL);
}

/* The command's namespace could not be made: it does not run. */
static void
send_uncontained(struct spawner *s, uint32_t job, int error)
{
	struct spawn_msg m = { SPAWN_FAILED, job, 0, 0, 0,
	    SPAWN_FAILED_CONTAIN, error, 0 };

	(void)!send(s->sock, &m, sizeof(m), MSG_NOSIGNAL);
}

/*
 * What every command's environment says to the git it may run: no system
 * or global configuration (the agent could write them), no pager, editor,
 * askpass or proxy command, no prompt, and each configuration key that
 * runs a program forced off (libpolicy/git.c), read after .git/config.
 */
static const char *const git_env[] = {
	"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
	"GIT_ATTR_NOSYSTEM=1", "GIT_PAGER=cat", "GIT_ASKPASS=",
	"GIT_PROXY_COMMAND=", "GIT_TERMINAL_PROMPT=0",
};
#define GIT_NENV	(sizeof(git_env) / sizeof(git_env[0]))
/* git's home: not the work root, and nothing there to read or write. */
#define GIT_HOME	"/nonexistent"

/* Add "NAME=value" at env[*n]; a NULL there means out of memory. */
static void
env_add(char **env, size_t *n, const char *name, const char *value)
{
	if (asprintf(&env[*n], "%s=%s", name, value) < 0)
		env[*n] = NULL;
	(*n)++;
}

/* Is NAME in env[0..n)?  The forced variables win over the pod's. */
static int
env_has(char *const *env, size_t n, const char *var)
{
	size_t len = strcspn(var, "=");

	for (size_t i = 0; i < n; i++)
		if (env[i] != NULL && strncmp(env[i], var, len) == 0 &&
		    env[i][len] == '=')
			return 1;
	return 0;
}

static void
env_git(char **env, size_t *n)
{
	char name[64], count[24];

	for (size_t i = 0; i < GIT_NENV; i++)
		env[(*n)++] = strdup(git_env[i]);
	snprintf(count, sizeof(count), "%zu", policy_git_nforced);
	env_add(env, n, "GIT_CONFIG_COUNT", count);
	for (size_t i = 0; i < policy_git_nforced; i++) {
		snprintf(name, sizeof(name), "GIT_CONFIG_KEY_%zu", i);
		env_add(env, n, name, policy_git_forced[i].key);
		snprintf(name, sizeof(name), "GIT_CONFIG_VALUE_%zu", i);
		env_add(env, n, name, policy_git_forced[i].value);
	}
}

/*
 * A pod with a network member: every client that honours a proxy finds
 * the pod's own (egress.c); names are resolved on the host, by the
 * gateway (socks5h), never in the pod.
 */
#define PROXY_URL	"http://127.0.0.1:" EGRESS_PORT_TEXT
#define PROXY_NENV	8
static void
env_proxy(char **env, size_t *n)
{
	static const char *const vars[PROXY_NENV][2] = {
		{ "http_proxy", PROXY_URL }, { "HTTP_PROXY", PROXY_URL },
		{ "https_proxy", PROXY_URL }, { "HTTPS_PROXY", PROXY_URL },
		{ "all_proxy", "socks5h://127.0.0.1:" EGRESS_PORT_TEXT },
		{ "ALL_PROXY", "socks5h://127.0.0.1:" EGRESS_PORT_TEXT },
		{ "no_proxy", "" }, { "NO_PROXY", "" },
	};

	for (size_t i = 0; i < PROXY_NENV; i++)
		env_add(env, n, vars[i][0], vars[i][1]);
}

/*
 * The environment commands see: the search path, home (for git, not the
 * work root), git's, and the pod's.
 */
static char **
make_env(const struct config *c, int git)
{
	char **env = calloc(ENV_MAX + GIT_NENV + 2 * policy_git_nforced + 8 +
	    PROXY_NENV,
	    sizeof(*env));
	size_t n = 0, len = 6;
	char *path;

	if (env == NULL)
		return NULL;
	for (size_t i = 0; c->search[i] != NULL; i++)
		len += strlen(c->search[i]) + 1;
	if ((path = malloc(len)) == NULL) {
		free(env);
		return NULL;
	}
	strcpy(path, "PATH=");
	for (size_t i = 0; c->search[i] != NULL; i++) {
		if (i > 0)
			strcat(path, ":");
		strcat(path, c->search[i]);
	}
	env[n++] = path;
	env_add(env, &n, "HOME", git ? GIT_HOME : c->root);
	env[n++] = strdup("LANG=C.UTF-8");
	env[n++] = strdup("TMPDIR=/tmp");
	if (c->net != NULL)
		env_proxy(env, &n);
	env_git(env, &n);
	for (size_t i = 0; c->env[i] != NULL; i++)
		if (!env_has(env, n, c->env[i]))
			env[n++] = strdup(c->env[i]);
	/* Out of memory: all or nothing (a NULL would end the list early). */
	for (size_t i = 0; i < n; i++) {
		if (env[i] == NULL) {
			for (size_t j = 0; j < n; j++)
				free(env[j]);
			free(env);
			return NULL;
		}
	}
	return env;
}

/* Lower a limit to v (or keep a lower one the proxy was given). */
static int
limit(int resource, rlim_t v)
{
	struct rlimit rl;

	if (getrlimit(resource, &rl) != 0)
		return -1;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < v)
		v = rl.rlim_max;
	rl.rlim_cur = rl.rlim_max = v;
	return setrlimit(resource, &rl);
}

/*
 * A command is the first the OOM killer takes, before the proxy and the
 * spawner, whatever their sizes: in a pod they share one memory limit,
 * and a proxy killed ends the pod.  Raising one's own score needs no
 * privilege.
 */
static int
oom_first(void)
{
	int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC), rc;

	if (fd < 0)
		return -1;
	rc = write(fd, "1000", 4) == 4 ? 0 : -1;
	close(fd);
	return rc;
}

/* Neither ambient nor inheritable capabilities, for the exec. */
static int
no_inherited_caps(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 ||
	    syscall(SYS_capget, &h, d) != 0)
		return -1;
	d[0].inheritable = d[1].inheritable = 0;
	return syscall(SYS_capset, &h, d) != 0 ? -1 : 0;
}

/*
 * Exec argv[0] from each directory of the search path in turn.  Returns
 * only on failure, with the errno of the last program found that would
 * not run (ENOENT: none was found).
 */
static int
exec_search(const struct config *c, char **argv, char **envp)
{
	char path[4200];
	int e = ENOENT;

	for (size_t i = 0; c->search[i] != NULL; i++) {
		/* Never a shorter path: that would be another program. */
		if (audit_fit(path, sizeof(path), NULL, "%s/%s", c->search[i],
		    argv[0]) != 0)
			continue;
		execve(path, argv, envp);
		if (errno != ENOENT)
			e = errno;	/* found, but it would not run */
	}
	return e;
}

/*
 * Read what git config printed (at most GIT_SCAN_MAX bytes) into buf.
 * Returns the length, or -1 (E2BIG: more than that).
 */
static ssize_t
read_scan(int fd, char *buf)
{
	size_t len = 0;
	ssize_t got;

	while ((got = read(fd, buf + len, GIT_SCAN_MAX + 1 - len)) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -1;
		len += (size_t)got;
		if (len > GIT_SCAN_MAX) {
			errno = E2BIG;
			return -1;
		}
	}
	buf[len] = '\0';
	return (ssize_t)len;
}

/*
 * git's environment with each driver key in keys (NUL- or newline-
 * separated, as git config printed them, its messages among them) that
 * runs a program forced off after the fixed ones.  Returns the new
 * environment, base itself when there is nothing to force, or NULL.
 */
static char **
env_drivers_off(char **base, char *keys, size_t len)
{
	char *key[GIT_OFF_MAX + 1], **env, *s;
	const char *val[GIT_OFF_MAX + 1];
	size_t k = 0, n = 0, o = 0, first;

	for (char *t = keys; t < keys + len; t += strlen(t) + 1) {
		t[strcspn(t, "\n")] = '\0';	/* a key has no newline */
		if (policy_git_key_refused(t)) {
			errno = EPERM;
			return NULL;
		}
		if ((val[k] = policy_git_driver_off(t)) == NULL)
			continue;
		if (k == GIT_OFF_MAX) {
			errno = E2BIG;
			return NULL;
		}
		key[k++] = t;
	}
	if (k == 0)
		return base;
	while (base[n] != NULL)
		n++;
	if ((env = calloc(n + 2 * k + 2, sizeof(*env))) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strncmp(base[i], "GIT_CONFIG_COUNT=", 17) != 0)
			env[o++] = base[i];
	first = o;	/* from here on, env's own */
	if (asprintf(&s, "GIT_CONFIG_COUNT=%zu", policy_git_nforced + k) < 0)
		goto fail;
	env[o++] = s;
	for (size_t j = 0; j < k; j++) {
		if (asprintf(&s, "GIT_CONFIG_KEY_%zu=%s", policy_git_nforced + j,
		    key[j]) < 0)
			goto fail;
		env[o++] = s;
		if (asprintf(&s, "GIT_CONFIG_VALUE_%zu=%s",
		    policy_git_nforced + j, val[j]) < 0)
			goto fail;
		env[o++] = s;
	}
	return env;
fail:
	while (o > first)
		free(env[--o]);
	free(env);
	return NULL;
}

/*
 * In the child, sandboxed already, for a git command: ask git, with the
 * command's own global options, which driver keys its configuration
 * defines (filter.<name>.clean, merge.<name>.driver, ...: named by the
 * agent, so never in the fixed list), and put in *envp the environment
 * that forces each off.  git config runs no program.  It fails closed:
 * a scan that cannot run, is killed, or lists too much stops the command.
 */
static int
git_drivers_off(struct spawner *s, char **argv, char ***envp)
{
	static char buf[GIT_SCAN_MAX + 1];
	char *scan[POLICY_ARGV_MAX + 16];
	size_t argc = 0;
	ssize_t len;
	int sub, p[2], st;
	pid_t pid;

	while (argv[argc] != NULL)
		argc++;
	if ((sub = policy_git_subcommand((const char *const *)argv,
	    argc)) <= 0)
		return 0;
	memcpy(scan, argv, (size_t)sub * sizeof(*scan));
	scan[sub] = "config";
	scan[sub + 1] = "-z";
	scan[sub + 2] = "--name-only";
	scan[sub + 3] = "--get-regexp";
	scan[sub + 4] = (char *)policy_git_driver_scan;
	scan[sub + 5] = NULL;
	if (pipe2(p, O_CLOEXEC) != 0)
		return -1;
	if ((pid = fork()) < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		/* Its messages too: a key is told from them by its form. */
		if (dup2(p[1], 1) >= 0 && dup2(p[1], 2) >= 0)
			(void)exec_search(s->cfg, scan, s->git_envp);
		_exit(127);
	}
	close(p[1]);
	len = read_scan(p[0], buf);
	close(p[0]);
	if (len < 0)
		kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (len < 0)
		return -1;
	/* 0: keys found; 1: none; more: git's own error, which the command
	 * will meet and say itself. */
	if (!WIFEXITED(st) || WEXITSTATUS(st) == 127) {
		errno = ECHILD;
		return -1;
	}
	return (*envp = env_drivers_off(s->git_envp, buf, (size_t)len)) ==
	    NULL ? -1 : 0;
}

/* In the child: set everything up, exec, or report why not. */
static void __attribute__((noreturn))
child(struct spawner *s, char **argv, int fds[4], uint32_t timeout, int errw)
{
	const struct config *c = s->cfg;
	/* git's helpers (git-upload-pack, git-receive-pack, ...) get git's
	 * environment too: its hooks and configuration are git's. */
	int git = strcmp(argv[0], "git") == 0;
	char **envp = git || strncmp(argv[0], "git-", 4) == 0 ? s->git_envp :
	    s->envp;
	int e = 0;

	if (setsid() < 0 || dup2(fds[2], 0) < 0 || dup2(fds[0], 1) < 0 ||
	    dup2(fds[1], 2) < 0 || fchdir(fds[3]) != 0)
		goto fail;
	/* Everything else closes at exec; errw reports until then. */
	if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) != 0)
		goto fail;
	/* No capability passes the exec (a local pod's CAP_SYS_ADMIN). */
	if (no_inherited_caps() != 0)
		goto fail;
	if (oom_first() != 0 || limit(RLIMIT_CPU, timeout + 5) != 0 ||
	    limit(RLIMIT_NOFILE, CMD_FILES_MAX) != 0 ||
	    limit(RLIMIT_FSIZE, CMD_FSIZE_MAX) != 0 ||
	    limit(RLIMIT_CORE, 0) != 0)
		goto fail;
	if (c->run_as) {
		/* Groups, then gid, then uid; and check none came back. */
		if (limit(RLIMIT_NPROC, CMD_PROCS_MAX) != 0 ||
		    setgroups(0, NULL) != 0 ||
		    setresgid(c->run_gid, c->run_gid, c->run_gid) != 0 ||
		    setresuid(c->run_uid, c->run_uid, c->run_uid) != 0 ||
		    setuid(0) == 0 || getuid() != c->run_uid ||
		    getgid() != c->run_gid)
			goto fail;
	}
	/* Never gain privileges on exec, whatever the binary's bits say. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
		goto fail;
	if (s->ruleset >= 0 && syscall(SYS_landlock_restrict_self,
	    s->ruleset, 0) != 0)
		goto fail;
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &s->prog, 0, 0) != 0)
		goto fail;
	if (git && git_drivers_off(s, argv, &envp) != 0)
		goto fail;
	/* Last: nothing after this allocates (a sanitizer's runtime would). */
	if (limit(RLIMIT_AS, CMD_AS_MAX) != 0)
		goto fail;
	errno = exec_search(c, argv, envp);
fail:
	e = errno != 0 ? errno : EPERM;
	(void)!write(errw, &e, sizeof(e));
	_exit(127);
}

/* Put a1 and, unless NULL, a2 at argv[at], moving the rest up. */
static void
insert(char **argv, size_t *argc, size_t at, const char *a1,
    const char *a2)
{
	size_t add = a2 != NULL ? 2 : 1;

	memmove(argv + at + add, argv + at,
	    (*argc - at + 1) * sizeof(*argv));	/* and the NULL */
	argv[at] = (char *)a1;
	if (a2 != NULL)
		argv[at + 1] = (char *)a2;
	*argc += add;
}

/*
 * Some of what runs a program in git is named per driver, per remote or
 * per word (diff.<driver>.command and .textconv, diff.external,
 * remote.<name>.uploadpack and .receivepack, alias.<word>), which no
 * forced key can name.  The subcommand's word is made an empty alias just
 * before it (after the agent's own -c, so it wins): a word that is not a
 * git command then fails instead of running the repository's alias.
 * git's options for the rest win over the configuration, so they are
 * given right after the subcommand (a path or "--" after it is still
 * one).  The classifier refuses the options that would undo them.  argv
 * has room for four more; *alias is the caller's to free.
 */
static int
git_safe_args(char **argv, size_t *argc, char **alias)
{
	static const struct {
		const char *sub, *a1, *a2;
	} subs[] = {
		{ "diff", "--no-textconv", "--no-ext-diff" },
		{ "log", "--no-textconv", "--no-ext-diff" },
		{ "show", "--no-textconv", "--no-ext-diff" },
		{ "whatchanged", "--no-textconv", "--no-ext-diff" },
		{ "blame", "--no-textconv", NULL },
		{ "annotate", "--no-textconv", NULL },
		{ "push", "--receive-pack=git-receive-pack", NULL },
		{ "send-pack", "--receive-pack=git-receive-pack", NULL },
		{ "fetch", "--upload-pack=git-upload-pack", NULL },
		{ "pull", "--upload-pack=git-upload-pack", NULL },
		{ "ls-remote", "--upload-pack=git-upload-pack", NULL },
		{ "clone", "--upload-pack=git-upload-pack", NULL },
	};
	int sub;

	*alias = NULL;
	if (strcmp(argv[0], "git") != 0 ||
	    (sub = policy_git_subcommand((const char *const *)argv,
	    *argc)) <= 0)
		return 0;
	if (asprintf(alias, "alias.%s=", argv[sub]) < 0) {
		*alias = NULL;
		return -1;
	}
	insert(argv, argc, (size_t)sub, "-c", *alias);
	sub += 2;
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		if (strcmp(argv[sub], subs[i].sub) == 0) {
			insert(argv, argc, (size_t)sub + 1, subs[i].a1,
			    subs[i].a2);
			break;
		}
	}
	return 0;
}

/*
 * The command's init, pid 1 of its namespace: it starts the command, reaps
 * every process that comes back to it, and when the command ends, writes
 * its wait status to stw and ends, and the kernel kills the rest.  It is
 * the command's, for the OOM killer too.
 */
static void __attribute__((noreturn))
cmd_init(struct spawner *s, char **argv, int fds[4], uint32_t timeout,
    int errw, int go, int stw)
{
	int status, e;
	pid_t cmd;
	char g;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 ||
	    read(go, &g, 1) != 1 || g != 'g')
		_exit(127);	/* the spawner gave up */
	close(go);
	/* Out of reach of what it runs (its memory, /proc/1/...). */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 || oom_first() != 0 ||
	    (cmd = fork()) < 0) {
		e = errno != 0 ? errno : EPERM;
		(void)!write(errw, &e, sizeof(e));
		_exit(127);
	}
	if (cmd == 0) {
		close(stw);
		child(s, argv, fds, timeout, errw);
	}
	close(errw);
	for (int i = 0; i < 4; i++)
		close(fds[i]);
	if (reap_until(cmd, &status) != 0)
		_exit(127);
	(void)!write(stw, &status, sizeof(status));
	_exit(0);
}

/* Write text to /proc/<pid>/<file>; -1 with errno. */
static int
write_proc(pid_t pid, const char *file, const char *text)
{
	char path[64];
	int fd, e;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0)
		return -1;
	n = write(fd, text, strlen(text));
	e = errno;
	close(fd);
	errno = n < 0 ? e : EIO;
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

/*
 * The new user namespace maps the spawner's own uid and gid, each as
 * itself, and only them (what needs no privilege; but uid 0 would need
 * CAP_SETFCAP, and fails).
 */
static int
map_self(pid_t pid)
{
	char map[64];

	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)geteuid(),
	    (unsigned)geteuid());
	if (write_proc(pid, "uid_map", map) != 0 ||
	    write_proc(pid, "setgroups", "deny") != 0)
		return -1;
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)getegid(),
	    (unsigned)getegid());
	return write_proc(pid, "gid_map", map);
}

/*
 * The command's init, forked into a new PID namespace; where the spawner
 * may not make one (no CAP_SYS_ADMIN: an unprivileged proxy), with a
 * user namespace of its own too, mapping the spawner's ids as
 * themselves.  A local pod's proxy is uid 0 and keeps CAP_SYS_ADMIN of
 * the pod for the spawner (nucleus-pod(5)).  Its pid, or -1 with errno.
 */
static pid_t
clone_contained(struct spawner *s)
{
	struct clone_args ca;
	pid_t pid;
	int e;

	for (;;) {
		memset(&ca, 0, sizeof(ca));
		ca.flags = CLONE_NEWPID | (s->userns ? CLONE_NEWUSER : 0);
		ca.exit_signal = SIGCHLD;
		pid = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
		if (pid < 0 && errno == EPERM && !s->userns) {
			s->userns = 1;
			continue;
		}
		if (pid <= 0 || !s->userns || map_self(pid) == 0)
			return pid;
		e = errno;
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		errno = e;
		return -1;
	}
}

/* A job's three pipes: errors until exec, go, the command's status. */
static int
pipes(int ep[2], int go[2], int st[2])
{
	if (pipe2(ep, O_CLOEXEC) != 0)
		return -1;
	if (pipe2(go, O_CLOEXEC) != 0) {
		close(ep[0]);
		close(ep[1]);
		return -1;
	}
	if (pipe2(st, O_CLOEXEC | O_NONBLOCK) != 0) {
		for (int i = 0; i < 2; i++) {
			close(ep[i]);
			close(go[i]);
		}
		return -1;
	}
	return 0;
}

static void
run(struct spawner *s, struct spawn_msg *m, char *data, int fds[4])
{
	char *argv[POLICY_ARGV_MAX + 5], *alias = NULL;
	size_t n = 0, off = 0;
	int ep[2], go[2], st[2], e;
	ssize_t got;
	pid_t pid;

	while (off < m->len && n < POLICY_ARGV_MAX) {
		argv[n++] = data + off;
		off += strlen(data + off) + 1;
	}
	argv[n] = NULL;
	if (n == 0 || n != m->argc || s->njobs == JOBS_MAX ||
	    git_safe_args(argv, &n, &alias) != 0) {
		free(alias);
		send_event(s, SPAWN_FAILED, m->job, 0, 0, n == 0 ? EINVAL :
		    EAGAIN);
		return;
	}
	if (pipes(ep, go, st) != 0) {
		free(alias);
		send_event(s, SPAWN_FAILED, m->job, 0, 0, EAGAIN);
		return;
	}
	if ((pid = clone_contained(s)) == 0) {
		close(ep[0]);
		close(go[1]);
		close(st[0]);
		cmd_init(s, argv, fds, m->timeout, ep[1], go[0], st[1]);
	}
	e = errno;
	free(alias);	/* the child has its copy */
	close(ep[1]);
	close(go[0]);
	close(st[1]);
	if (pid < 0) {
		close(ep[0]);
		close(go[1]);
		close(st[0]);
		/* Out of processes or memory is no fault of the namespace. */
		if (e == EAGAIN || e == ENOMEM)
			send_event(s, SPAWN_FAILED, m->job, 0, 0, e);
		else
			send_uncontained(s, m->job, e);
		return;
	}
	(void)!write(go[1], "g", 1);
	close(go[1]);
	got = read(ep[0], &e, sizeof(e));
	close(ep[0]);
	if (got == sizeof(e)) {
		waitpid(pid, NULL, 0);
		close(st[0]);
		send_event(s, SPAWN_FAILED, m->job, 0, 0, e);
		return;
	}
	s->jobs[s->njobs].id = m->job;
	s->jobs[s->njobs].status_fd = st[0];
	s->jobs[s->njobs++].pid = pid;
	send_event(s, SPAWN_STARTED, m->job, pid, 0, 0);
}

/*
 * A job's init ended, and with it everything in its namespace: the
 * command's status as its init saw it, or, if the init itself was killed
 * (a timeout, a kill, the OOM killer), the init's.
 */
static void
reap(struct spawner *s)
{
	int status, cmd;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (int i = 0; i < s->njobs; i++) {
			if (s->jobs[i].pid != pid)
				continue;
			if (read(s->jobs[i].status_fd, &cmd, sizeof(cmd)) ==
			    sizeof(cmd))
				status = cmd;
			close(s->jobs[i].status_fd);
			send_event(s, SPAWN_EXITED, s->jobs[i].id, pid, status,
			    0);
			s->jobs[i] = s->jobs[--s->njobs];
			break;
		}
	}
}

/* Its init killed: the kernel kills the rest of its namespace. */
static void
kill_job(struct spawner *s, uint32_t id)
{
	for (int i = 0; i < s->njobs; i++)
		if (s->jobs[i].id == id)
			kill(s->jobs[i].pid, SIGKILL);
}

/* One message, with up to four descriptors. */
static ssize_t
receive(int sock, struct spawn_msg *m, char *data, int fds[4], int *nfds)
{
	char cbuf[CMSG_SPACE(4 * sizeof(int))], buf[SPAWN_MSG_MAX +
	    sizeof(*m)];
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr mh = { 0 };
	struct cmsghdr *cm;
	ssize_t n;

	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof(cbuf);
	*nfds = 0;
	if ((n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC)) <= 0)
		return n;
	for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == SOL_SOCKET &&
		    cm->cmsg_type == SCM_RIGHTS) {
			*nfds = (int)((cm->cmsg_len - CMSG_LEN(0)) /
			    sizeof(int));
			if (*nfds > 4)
				*nfds = 4;
			memcpy(fds, CMSG_DATA(cm), (size_t)*nfds * sizeof(int));
		}
	if ((size_t)n < sizeof(*m))
		return -1;
	memcpy(m, buf, sizeof(*m));
	if (m->len > SPAWN_MSG_MAX || (size_t)n != sizeof(*m) + m->len)
		return -1;
	memcpy(data, buf + sizeof(*m), m->len);
	data[m->len] = '\0';
	return n;
}

static void message(struct spawner *, char *);

static void __attribute__((noreturn))
spawner_main(struct spawner *s)
{
	static char data[SPAWN_MSG_MAX + 1];
	struct pollfd pfd[2];
	sigset_t set;
	int sfd;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if ((sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) < 0)
		_exit(1);
	pfd[0].fd = s->sock;
	pfd[0].events = POLLIN;
	pfd[1].fd = sfd;
	pfd[1].events = POLLIN;
	for (;;) {
		struct signalfd_siginfo si;

		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			_exit(1);
		if (pfd[1].revents & POLLIN) {
			while (read(sfd, &si, sizeof(si)) == sizeof(si))
				;
			reap(s);
		}
		if (pfd[0].revents & (POLLIN | POLLHUP))
			message(s, data);
	}
}

/* One message from the proxy. */
static void
message(struct spawner *s, char *data)
{
	struct spawn_msg m;
	int fds[4], nfds;
	ssize_t n;

	n = receive(s->sock, &m, data, fds, &nfds);
	if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
		/* The proxy is gone: so is everything it started. */
		for (int i = 0; i < s->njobs; i++)
			kill(s->jobs[i].pid, SIGKILL);
		_exit(0);
	}
	if (n < 0)
		return;
	if (m.type == SPAWN_RUN && nfds == 4)
		run(s, &m, data, fds);
	else if (m.type == SPAWN_KILL)
		kill_job(s, m.job);
	else if (m.type == SPAWN_RUN)
		send_event(s, SPAWN_FAILED, m.job, 0, 0, EINVAL);
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
}

/*
 * A CAP_SYS_ADMIN the proxy was given as an ambient capability (a local
 * pod's, nucleus-pod(5)) is the spawner's, for its commands' PID
 * namespaces: the proxy drops it from itself.  A proxy that holds it
 * otherwise (root, a VM's init) keeps what it has.
 */
static int
drop_admin(struct audit_err *err)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	const uint32_t admin = 1U << CAP_SYS_ADMIN;

	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_SYS_ADMIN, 0,
	    0) != 1)
		return 0;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 ||
	    syscall(SYS_capget, &h, d) != 0)
		return audit_errf(err, "cannot drop CAP_SYS_ADMIN: %s",
		    strerror(errno));
	d[0].effective &= ~admin;
	d[0].permitted &= ~admin;
	d[0].inheritable &= ~admin;
	if (syscall(SYS_capset, &h, d) != 0)
		return audit_errf(err, "cannot drop CAP_SYS_ADMIN: %s",
		    strerror(errno));
	return 0;
}

/*
 * Fork the spawner.  The proxy keeps *sock; facts says what commands run
 * under.  Fails (and the proxy stops) when the filter or a sandbox the
 * kernel offers cannot be made.
 */
int
spawn_start(const struct config *c, int *sock, struct spawn_facts *facts,
    struct audit_err *err)
{
	static struct spawner s;
	int sv[2], size = 4 * SPAWN_MSG_MAX, rc;
	scmp_filter_ctx filter;
	pid_t pid;

	memset(&s, 0, sizeof(s));
	s.cfg = c;

	if ((filter = sandbox_command_filter(c->egress, err)) == NULL)
		return -1;
	rc = compile(filter, &s.prog, err);
	seccomp_release(filter);
	if (rc != 0)
		return -1;
	s.ruleset = sandbox_landlock(c->root, c->egress, &facts->landlock_abi,
	    err);
	if (s.ruleset == -2)
		return -1;
	facts->seccomp = 1;
	if ((s.envp = make_env(c, 0)) == NULL ||
	    (s.git_envp = make_env(c, 1)) == NULL)
		return audit_errf(err, "out of memory");
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		return audit_errf(err, "socketpair: %s", strerror(errno));
	(void)setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	(void)setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if ((pid = fork()) < 0)
		return audit_errf(err, "fork: %s", strerror(errno));
	if (pid == 0) {
		close(sv[0]);
		s.sock = sv[1];
		if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
			_exit(1);
		spawner_main(&s);
	}
	close(sv[1]);
	if (s.ruleset >= 0)
		close(s.ruleset);
	free(s.prog.filter);
	if (drop_admin(err) != 0) {
		kill(pid, SIGKILL);
		close(sv[0]);
		return -1;
	}
	*sock = sv[0];
	facts->pid = pid;
	return 0;
}
