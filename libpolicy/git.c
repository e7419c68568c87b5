/*
 * git: where its subcommand is, which command lines are refused rather
 * than classified, and the configuration every command is handed so that
 * the git it runs starts no program the agent chose.
 *
 * The agent can write the repository's .git/config (and, were it read,
 * a $HOME/.gitconfig), and git has many keys that run a program.  The
 * proxy gives git no system or global configuration and forces each such
 * key off on git's command line (GIT_CONFIG_COUNT), which git reads after
 * every file, so the forced value wins over the repository's.  A -c on
 * the agent's own command line is read later still, so the classifier
 * refuses one that names any of these keys.  Keys named per driver
 * (filter.<name>.clean, merge.<name>.driver, ...) cannot be listed in
 * advance: the proxy asks git which the configuration defines, just
 * before the command, and forces those off the same way.  Subcommands and
 * options that run a program whatever the configuration are refused.
 */
#include <string.h>
#include <strings.h>

#include "policy.h"

const struct policy_git_config policy_git_forced[] = {
	{ "core.fsmonitor", "false" },
	{ "core.hooksPath", "/dev/null" },
	{ "core.pager", "cat" },
	{ "core.editor", "false" },
	{ "sequence.editor", "false" },
	{ "core.sshCommand", "ssh" },
	{ "core.askPass", "" },
	{ "core.attributesFile", "/dev/null" },
	{ "core.alternateRefsCommand", "true" },
	{ "credential.helper", "" },	/* empty: forget every helper */
	{ "gpg.program", "false" },
	{ "gpg.openpgp.program", "false" },
	{ "gpg.x509.program", "false" },
	{ "gpg.ssh.program", "false" },
	{ "gpg.ssh.defaultKeyCommand", "false" },
	{ "commit.gpgSign", "false" },
	{ "tag.gpgSign", "false" },
	{ "push.gpgSign", "false" },
	{ "log.showSignature", "false" },
	{ "protocol.ext.allow", "never" },
	{ "interactive.diffFilter", "cat" },
	{ "init.templateDir", "" },	/* empty: copy no template */
};
const size_t policy_git_nforced = sizeof(policy_git_forced) /
    sizeof(policy_git_forced[0]);

/* git's global options that take their value as the next argument. */
static const char *const git_value_opts[] = {
	"-C", "-c", "--git-dir", "--work-tree", "--namespace",
	"--super-prefix", "--config-env",
	/* Not in git's usage line, but taken (--attr-source from 2.42). */
	"--shallow-file", "--attr-source",
};

/* Sections a -c may not touch at all. */
static const char *const refused_sections[] = {
	"alias", "include", "includeif", "pager", "gpg", "filter", "protocol",
	"credential", "mergetool", "difftool",
};

/* Variables (the key's last part) that name a program, in any section. */
static const char *const refused_names[] = {
	"fsmonitor", "hookspath", "pager", "editor", "sshcommand", "askpass",
	"attributesfile", "alternaterefscommand", "gitproxy", "external",
	"textconv", "command", "driver", "helper", "program", "uploadpack",
	"receivepack", "vcs", "insteadof", "pushinsteadof", "packobjectshook",
	"gpgsign", "showsignature", "cmd", "defaultkeycommand",
	"difffilter", "templatedir", "update",
};

/*
 * Subcommands refused whole: each runs a program the agent names (a
 * tool, a browser, a viewer, a filter over the history, a helper that
 * runs its URL), or serves the repository to others.
 */
static const char *const refused_subs[] = {
	"help", "filter-branch", "difftool", "mergetool", "instaweb",
	"send-email", "web--browse", "daemon", "shell", "remote-ext",
	"cvsimport", "cvsserver", "cvsexportcommit", "svn", "p4",
	"archimport", "quiltimport", "credential-cache--daemon",
};

/*
 * Driver keys named per driver, which no forced key can name in advance:
 * the proxy asks git for those the repository's configuration defines
 * (policy_git_driver_scan) and forces each to the value here.
 */
static const struct {
	const char *section, *name, *value;
} driver_off[] = {
	{ "filter", "clean", "" },	/* empty: no filter runs */
	{ "filter", "smudge", "" },
	{ "filter", "process", "" },
	{ "filter", "required", "false" },
	{ "merge", "driver", "false" },	/* a conflict, never a program */
	{ "submodule", "update", "none" },
	{ "trailer", "cmd", "true" },
	{ "trailer", "command", "true" },
	/* What --no-textconv and --no-ext-diff leave to commands that do
	 * not take them (git range-diff, git stash list -p). */
	{ "diff", "textconv", "cat" },
	{ "diff", "command", "true" },
};

const char policy_git_driver_scan[] = "^(filter|merge|submodule|trailer)\\."
    "|^remote\\..*\\.(uploadpack|receivepack)$"
    "|^diff\\..*\\.(textconv|command)$";

/*
 * Is key one that no configuration can override, so that a command of a
 * repository that defines it must not run?  remote.<name>.uploadpack and
 * .receivepack: git keeps the first value it reads (the repository's),
 * and git remote show, update, prune and set-head and fetch --multiple
 * run it, a command line for a local or ssh remote, with no option of
 * theirs to give another.
 */
int
policy_git_key_refused(const char *key)
{
	const char *dot = strchr(key, '.'), *last = strrchr(key, '.');

	return dot != NULL && last != dot && (size_t)(dot - key) == 6 &&
	    strncmp(key, "remote", 6) == 0 &&
	    (strcmp(last + 1, "uploadpack") == 0 ||
	    strcmp(last + 1, "receivepack") == 0);
}

/*
 * Options of git's subcommands that run a program or read outside the
 * repository: a long option is refused in any unambiguous abbreviation.
 */
static const char *const refused_longs[] = {
	"ext-diff", "textconv", "upload-pack", "receive-pack", "exec",
	"template", "open-files-in-pager", "help",
};

static int
in_list(const char *const *list, size_t n, const char *s, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(list[i]) == len && strncasecmp(list[i], s, len) == 0)
			return 1;
	return 0;
}

/*
 * Why a -c or --config-env value may not be given, or NULL.  value is
 * "key=value" or a bare "key"; sections and names compare without case,
 * as git compares them.
 */
static const char *
config_refused(const char *value)
{
	const char *eq = strchr(value, '=');
	size_t klen = eq != NULL ? (size_t)(eq - value) : strlen(value);
	const char *dot = memchr(value, '.', klen), *last = value + klen;

	if (dot == NULL)
		return NULL;
	while (last > value && last[-1] != '.')
		last--;
	if (strncasecmp(value, "alias.", 6) == 0)
		return "git aliases defined on the command line are refused: "
		    "they could hide any git command";
	if (in_list(refused_sections, sizeof(refused_sections) /
	    sizeof(refused_sections[0]), value, (size_t)(dot - value)) ||
	    in_list(refused_names, sizeof(refused_names) /
	    sizeof(refused_names[0]), last, (size_t)(value + klen - last)))
		return "git configuration that includes files or runs a "
		    "program is refused on the command line";
	return NULL;
}

/* Why a subcommand's argument is refused, or NULL. */
static const char *
arg_refused(const char *a)
{
	const char *name = a + 2, *eq;
	size_t n;

	if (strcmp(a, "--no-index") == 0)
		return "git --no-index is refused: it reads files outside the "
		    "repository and past the path rules";
	if (strncmp(a, "--", 2) != 0)
		return NULL;
	eq = strchr(name, '=');
	n = eq != NULL ? (size_t)(eq - name) : strlen(name);
	for (size_t i = 0; n > 0 && i < sizeof(refused_longs) /
	    sizeof(refused_longs[0]); i++)
		if (n <= strlen(refused_longs[i]) &&
		    strncmp(refused_longs[i], name, n) == 0)
			return "git options that run a program (--ext-diff, "
			    "--textconv, --upload-pack, --receive-pack, "
			    "--exec, --template, --open-files-in-pager, "
			    "--help) are refused";
	return NULL;
}

/*
 * Why a short-option cluster ("-qc", "-xcmd") of a subcommand is refused,
 * or NULL: refuse names the letters that run a program, stop those whose
 * value is the rest of the cluster (or the next argument).
 */
static int
cluster_has(const char *a, const char *refuse, const char *stop)
{
	if (a[0] != '-' || a[1] == '-' || a[1] == '\0')
		return 0;
	for (a++; *a != '\0'; a++) {
		if (strchr(refuse, *a) != NULL)
			return 1;
		if (strchr(stop, *a) != NULL)
			return 0;
	}
	return 0;
}

/*
 * Why git clone's configuration (-c KEY=VALUE, --config KEY=VALUE, also
 * in a cluster), written into the new repository, is refused, or NULL.
 */
static const char *
clone_config_refused(const char *const *argv, size_t argc)
{
	for (size_t i = 1; i < argc; i++) {
		const char *a = argv[i], *v = NULL;

		if (a == NULL || strcmp(a, "--") == 0)
			break;
		if (strcmp(a, "--config") == 0 || strcmp(a, "-c") == 0)
			v = i + 1 < argc ? argv[i + 1] : "";
		else if (strncmp(a, "--config=", 9) == 0)
			v = a + 9;
		else if (a[0] == '-' && a[1] != '-') {
			const char *c = strpbrk(a + 1, "cobj");

			if (c != NULL && *c == 'c')
				v = c[1] != '\0' ? c + 1 :
				    i + 1 < argc ? argv[i + 1] : "";
		}
		if (v != NULL && config_refused(v) != NULL)
			return config_refused(v);
	}
	return NULL;
}

/*
 * Why this subcommand (argv[0]) with these arguments is refused, or NULL:
 * those refused whole, and the options of the rest that run a program or
 * write a key that runs one.
 */
static const char *
sub_refused(const char *const *argv, size_t argc)
{
	const char *sub = argv[0];

	if (in_list(refused_subs, sizeof(refused_subs) /
	    sizeof(refused_subs[0]), sub, strlen(sub)) ||
	    strncmp(sub, "remote-", 7) == 0)
		return "this git subcommand is refused: it runs a program the "
		    "agent names, or serves the repository";
	if (strcmp(sub, "bisect") == 0 && argc > 1 &&
	    strcmp(argv[1], "run") == 0)
		return "git bisect run is refused: it runs a command";
	for (size_t i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(sub, "submodule") == 0 &&
		    strcmp(argv[i], "foreach") == 0)
			return "git submodule foreach is refused: it runs a "
			    "command";
		if (strcmp(sub, "rebase") == 0 && cluster_has(argv[i], "x",
		    "sXC"))
			return "git rebase -x is refused: it runs a command";
		if (strcmp(sub, "grep") == 0 && cluster_has(argv[i], "O",
		    "efABCm"))
			return "git grep -O is refused: it runs a program";
		if (strcmp(sub, "clone") == 0 && cluster_has(argv[i], "u",
		    "cobj"))
			return "git clone -u is refused: it runs a program";
		if (strcmp(sub, "config") == 0 &&
		    strcmp(argv[i], "--rename-section") == 0)
			return "git config --rename-section is refused: it "
			    "could make any section a driver's";
		/* Every name or value given to git config, read or write. */
		if (strcmp(sub, "config") == 0 && argv[i][0] != '-' &&
		    config_refused(argv[i]) != NULL)
			return "git config of a key that includes files or "
			    "runs a program is refused";
	}
	if (strcmp(sub, "clone") == 0)
		return clone_config_refused(argv, argc);
	return NULL;
}

/*
 * The value that turns off a driver key git config printed (lowercased
 * section and name, the driver's name between as written), or NULL for
 * a key that runs nothing.
 */
const char *
policy_git_driver_off(const char *key)
{
	const char *dot = strchr(key, '.'), *last = strrchr(key, '.');

	if (dot == NULL || last == dot)
		return NULL;	/* no driver's name: section.name */
	for (size_t i = 0; i < sizeof(driver_off) / sizeof(driver_off[0]);
	    i++)
		if (strlen(driver_off[i].section) == (size_t)(dot - key) &&
		    strncmp(key, driver_off[i].section, (size_t)(dot - key)) ==
		    0 && strcmp(last + 1, driver_off[i].name) == 0)
			return driver_off[i].value;
	return NULL;
}

static int
git_value_opt(const char *arg)
{
	for (size_t i = 0; i < sizeof(git_value_opts) /
	    sizeof(git_value_opts[0]); i++)
		if (strcmp(arg, git_value_opts[i]) == 0)
			return 1;
	return 0;
}

/*
 * Find git's subcommand past its global options.  Returns its index, or
 * 0 when there is none.
 */
int
policy_git_subcommand(const char *const *argv, size_t argc)
{
	for (size_t i = 1; i < argc; i++) {
		if (argv[i][0] != '-')
			return (int)i;
		if (git_value_opt(argv[i]))
			i++;	/* skip the value */
	}
	return 0;
}

/*
 * Why this git command line is refused rather than classified, or NULL:
 * configuration given on it that defines an alias (which could make any
 * word mean "push"), includes a file or runs a program, or an option of
 * the subcommand that runs a program or reads past the path rules.
 */
const char *
policy_git_refused(const char *const *argv, size_t argc)
{
	const char *why;
	size_t i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];

		/* git would look for its helpers where the agent says. */
		if (strncmp(a, "--exec-path=", 12) == 0)
			return "git --exec-path=DIR is refused: git would run "
			    "the programs it finds there";
		if (strcmp(a, "--help") == 0)
			return "git --help is refused: it runs the viewer the "
			    "configuration names";
		if (strncmp(a, "--config-env=", 13) == 0 &&
		    (why = config_refused(a + 13)) != NULL)
			return why;
		if (!git_value_opt(a))
			continue;
		if (i + 1 < argc && (strcmp(a, "-c") == 0 ||
		    strcmp(a, "--config-env") == 0) &&
		    (why = config_refused(argv[i + 1])) != NULL)
			return why;
		i++;	/* skip the value */
	}
	if (i < argc && (why = sub_refused(argv + i, argc - i)) != NULL)
		return why;
	for (; i < argc; i++)
		if ((why = arg_refused(argv[i])) != NULL)
			return why;
	return NULL;
}

/*
 * Short options of a subcommand that run a program: rebase -x (--exec),
 * difftool -x (--extcmd), clone and ls-remote -u (--upload-pack).
 */
static const struct {
	const char *sub;
	char	 opt;
} runner_shorts[] = {
	{ "rebase", 'x' }, { "difftool", 'x' }, { "clone", 'u' },
	{ "ls-remote", 'u' },
};

/* Long options that run a program, beyond refused_longs. */
static const char *const runner_longs[] = { "extcmd" };

static int
long_prefix_of(const char *const *list, size_t n, const char *name, size_t len)
{
	for (size_t i = 0; len > 0 && i < n; i++)
		if (len <= strlen(list[i]) && strncmp(list[i], name, len) == 0)
			return 1;
	return 0;
}

/*
 * How far a subcommand's argument a reaches when it runs a program: 0
 * when it does not, 1 for itself, 2 for itself and the value after it.
 */
static size_t
sub_runner(const char *sub, const char *a)
{
	const char *name = a + 2;
	size_t n;

	if (a[0] != '-' || a[1] == '\0')
		return 0;
	if (a[1] == '-') {
		n = strcspn(name, "=");
		if (!long_prefix_of(refused_longs, sizeof(refused_longs) /
		    sizeof(refused_longs[0]), name, n) &&
		    !long_prefix_of(runner_longs, sizeof(runner_longs) /
		    sizeof(runner_longs[0]), name, n))
			return 0;
		return name[n] == '=' ? 1 : 2;
	}
	for (size_t i = 0; sub != NULL && i < sizeof(runner_shorts) /
	    sizeof(runner_shorts[0]); i++) {
		const char *c;

		if (strcmp(sub, runner_shorts[i].sub) != 0 ||
		    (c = strchr(a + 1, runner_shorts[i].opt)) == NULL)
			continue;
		return c[1] == '\0' ? 2 : 1;
	}
	return 0;
}

/*
 * For a rule that names a prefix of a git command line (git, or one of
 * its git-* helpers): one past the last argument that configures git
 * (-c, --config-env, --exec-path=) or runs a program (the options of
 * policy_git_refused() and the short ones that stand for them), its value
 * included; 0 when there is none.  A prefix covers the command line only
 * when it reaches that far: when the rule names them.
 */
size_t
policy_git_runners_end(const char *const *argv, size_t argc)
{
	const char *prog = policy_program_name(argv[0]);
	const char *sub = NULL;
	size_t i = 1, end = 0, reach;

	if (strncmp(prog, "git-", 4) == 0)
		sub = prog + 4;
	for (; sub == NULL && i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];

		if (strcmp(a, "-c") == 0 || strcmp(a, "--config-env") == 0)
			end = i + 2;
		else if (strncmp(a, "--config-env=", 13) == 0 ||
		    strncmp(a, "--exec-path", 11) == 0 ||
		    (a[1] == 'c' && a[2] != '\0'))
			end = i + 1;
		if (git_value_opt(a))
			i++;	/* skip the value */
	}
	if (sub == NULL && i < argc)
		sub = argv[i++];
	for (; i < argc; i++)
		if ((reach = sub_runner(sub, argv[i])) > 0)
			end = i + reach;
	return end > argc ? argc : end;
}
