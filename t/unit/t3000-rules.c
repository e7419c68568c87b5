/*
 * The auto-grant rules file: what it accepts, what it refuses (each
 * limit crossed), and that a rule grants only what it names.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authority.h"
#include "tap.h"

static int
parses(const char *text, char *why, size_t whysz)
{
	struct rules rs;
	struct audit_err e;
	int rc = rules_parse(&rs, text, strlen(text), &e);

	snprintf(why, whysz, "%s", rc == 0 ? "" : e.msg);
	if (rc == 0)
		rules_free(&rs);
	return rc == 0;
}

static void
refused(const char *text, const char *msg, const char *what)
{
	char why[256];

	if (!ok(!parses(text, why, sizeof(why)) && strstr(why, msg) != NULL,
	    "refused: %s", what))
		diag("got \"%s\", wanted \"%s\"", why, msg);
}

/* A rules file of one rule with these members. */
static char *
one(const char *members)
{
	static char buf[1 << 20];

	snprintf(buf, sizeof(buf), "{\"v\":1,\"rules\":[{\"name\":\"r\","
	    "\"agent\":\"agent-7\",\"pod\":\"p-*\",%s}]}", members);
	return buf;
}

static void
limits(void)
{
	char *big, why[256];
	size_t n, len;

	refused(one("\"op\":\"run\",\"argv_prefix\":[\"git\"],"
	    "\"max_per_hour\":100001"), "max_per_hour", "a cap over 100000");
	ok(parses(one("\"op\":\"run\",\"argv_prefix\":[\"git\"],"
	    "\"max_per_hour\":100000"), why, sizeof(why)), "a cap of 100000");
	refused(one("\"op\":\"run\",\"argv_prefix\":[\"git\"],"
	    "\"max_per_hour\":0"), "max_per_hour", "a cap of 0");
	refused(one("\"op\":\"run\",\"argv_prefix\":[\"git\"],"
	    "\"max_per_hour\":1,\"ttl_s\":301"), "ttl_s", "a ttl over 300");
	ok(parses(one("\"op\":\"run\",\"argv_prefix\":[\"git\"],"
	    "\"max_per_hour\":1,\"ttl_s\":300"), why, sizeof(why)),
	    "a ttl of 300");

	/* 64 items of argv prefix, then 65 */
	big = malloc(1 << 20);
	len = (size_t)sprintf(big, "\"op\":\"run\",\"max_per_hour\":1,"
	    "\"argv_prefix\":[");
	for (n = 0; n < 64; n++)
		len += (size_t)sprintf(big + len, "%s\"a\"", n ? "," : "");
	strcpy(big + len, "]");
	ok(parses(one(big), why, sizeof(why)), "an argv prefix of 64");
	strcpy(big + len, ",\"a\"]");
	refused(one(big), "argv_prefix", "an argv prefix of 65");

	/* a name of 64 characters, then 65 */
	memset(big, 'n', 65);
	big[64] = '\0';
	snprintf(why, sizeof(why), "{\"v\":1,\"rules\":[{\"name\":\"%s\","
	    "\"agent\":\"a\",\"pod\":\"*\",\"op\":\"read\",\"path\":\"x\","
	    "\"max_per_hour\":1}]}", big);
	{
		struct rules rs;
		struct audit_err e;

		ok(rules_parse(&rs, why, strlen(why), &e) == 0,
		    "a name of 64 characters");
		rules_free(&rs);
	}
	big[64] = 'n';
	big[65] = '\0';
	snprintf(why, sizeof(why), "{\"v\":1,\"rules\":[{\"name\":\"%s\","
	    "\"agent\":\"a\",\"pod\":\"*\",\"op\":\"read\",\"path\":\"x\","
	    "\"max_per_hour\":1}]}", big);
	refused(why, "name", "a name of 65 characters");

	/* a pod glob of 64 characters, then 65, then one that names no pod */
	big[64] = '\0';
	snprintf(why, sizeof(why), "{\"v\":1,\"rules\":[{\"name\":\"r\","
	    "\"agent\":\"a\",\"pod\":\"%s\",\"op\":\"read\",\"path\":\"x\","
	    "\"max_per_hour\":1}]}", big);
	ok(parses(why, NULL, 0), "a pod glob of 64 characters");
	big[64] = 'n';
	snprintf(why, sizeof(why), "{\"v\":1,\"rules\":[{\"name\":\"r\","
	    "\"agent\":\"a\",\"pod\":\"%s\",\"op\":\"read\",\"path\":\"x\","
	    "\"max_per_hour\":1}]}", big);
	refused(why, "pod", "a pod glob of 65 characters");
	refused("{\"v\":1,\"rules\":[{\"name\":\"r\",\"agent\":\"a\","
	    "\"pod\":\"p/*\",\"op\":\"read\",\"path\":\"x\","
	    "\"max_per_hour\":1}]}", "pod", "a pod glob with /");

	/* 256 rules, then 257 */
	len = (size_t)sprintf(big, "{\"v\":1,\"rules\":[");
	for (n = 0; n < 257; n++) {
		if (n == 256) {
			strcpy(big + len, "]}");
			ok(parses(big, why, sizeof(why)), "256 rules");
		}
		len += (size_t)sprintf(big + len, "%s{\"name\":\"r%zu\","
		    "\"agent\":\"a\",\"pod\":\"*\",\"op\":\"read\","
		    "\"path\":\"x\",\"max_per_hour\":1}", n ? "," : "", n);
	}
	strcpy(big + len, "]}");
	refused(big, "at most 256", "257 rules");

	/* a file over 256 KiB, even of whitespace */
	memset(big, ' ', RULES_FILE_MAX + 1);
	memcpy(big, "{\"v\":1,\"rules\":[]", 17);
	big[RULES_FILE_MAX] = '}';
	big[RULES_FILE_MAX + 1] = '\0';
	refused(big, "longer than", "a file over 256 KiB");
	big[RULES_FILE_MAX - 1] = '}';
	big[RULES_FILE_MAX] = '\0';
	ok(parses(big, why, sizeof(why)), "a file of exactly 256 KiB");
	free(big);
}

static void
malformed(void)
{
	refused("[", "line 1", "not JSON");
	refused("{\"v\":1,\"rules\":[],\"v\":1}", "duplicate", "a duplicate");
	refused("{\"v\":2,\"rules\":[]}", "v: expected 1", "version 2");
	refused("{\"v\":1,\"rules\":[],\"x\":1}", "unknown member", "an unknown "
	    "member of the file");
	refused(one("\"op\":\"run\",\"argv_prefix\":[\"git\"],"
	    "\"max_per_hour\":1,\"extra\":true"), "unknown member", "an unknown "
	    "member of a rule: half understood, it could grant more");
	refused(one("\"op\":\"run\",\"max_per_hour\":1"), "argv_prefix",
	    "run without an argv prefix");
	refused(one("\"op\":\"run\",\"argv_prefix\":[],\"max_per_hour\":1"),
	    "argv_prefix", "an empty argv prefix");
	refused(one("\"op\":\"run\",\"argv_prefix\":[\"\"],"
	    "\"max_per_hour\":1"), "argv_prefix", "an empty argv item");
	refused(one("\"op\":\"run\",\"argv_prefix\":[\"git\"],\"path\":\"x\","
	    "\"max_per_hour\":1"), "path", "run with a path");
	refused(one("\"op\":\"write\",\"max_per_hour\":1"), "path",
	    "write without a path");
	refused(one("\"op\":\"write\",\"path\":\"x\",\"argv_prefix\":[\"a\"],"
	    "\"max_per_hour\":1"), "argv_prefix", "write with an argv prefix");
	refused(one("\"op\":\"web_fetch\",\"max_per_hour\":1"), "cannot name",
	    "an operation with neither argv nor path");
	refused(one("\"op\":\"launch\",\"max_per_hour\":1"), "op:",
	    "an unknown operation");
	refused("{\"v\":1,\"rules\":[{\"name\":\"a b\",\"agent\":\"x\","
	    "\"pod\":\"*\",\"op\":\"read\",\"path\":\"x\",\"max_per_hour\":1}]}",
	    "name", "a name with a space");
	refused("{\"v\":1,\"rules\":[{\"name\":\"a\",\"agent\":\"x\","
	    "\"pod\":\"*\",\"op\":\"read\",\"path\":\"x\",\"max_per_hour\":1},"
	    "{\"name\":\"a\",\"agent\":\"y\",\"pod\":\"*\",\"op\":\"read\","
	    "\"path\":\"x\",\"max_per_hour\":1}]}", "taken by rule 1",
	    "two rules of one name");
}

static int
grants(struct rules *rs, const char *agent, const char *pod, const char *op,
    const char *args)
{
	json_error_t jerr;
	json_t *a = json_loads(args, 0, &jerr);
	int capped, rc;

	rc = rules_match(rs, agent, pod, op, a, 0, &capped) != NULL;
	json_decref(a);
	return rc;
}

static void
naming(void)
{
	static const char text[] = "{\"v\":1,\"rules\":["
	    "{\"name\":\"push\",\"agent\":\"ci\",\"pod\":\"ci-*\","
	    "\"op\":\"run\",\"argv_prefix\":[\"git\",\"push\"],"
	    "\"max_per_hour\":2},"
	    "{\"name\":\"reports\",\"agent\":\"ci\",\"pod\":\"*\","
	    "\"op\":\"write\",\"path\":\"reports/*.md\",\"max_per_hour\":9}]}";
	struct rules rs;
	struct audit_err e;
	int capped;
	json_t *a;

	if (!ok(rules_parse(&rs, text, sizeof(text) - 1, &e) == 0,
	    "a rules file of two rules"))
		diag("%s", e.msg);
	ok(grants(&rs, "ci", "ci-7", "run", "{\"argv\":[\"git\",\"push\","
	    "\"origin\"]}"), "the named agent, pod, op and argv prefix");
	ok(!grants(&rs, "ci2", "ci-7", "run", "{\"argv\":[\"git\",\"push\"]}"),
	    "another agent");
	ok(!grants(&rs, "c", "ci-7", "run", "{\"argv\":[\"git\",\"push\"]}"),
	    "an agent whose name is a prefix");
	ok(!grants(&rs, "ci", "prod-1", "run", "{\"argv\":[\"git\","
	    "\"push\"]}"), "a pod the glob does not match");
	ok(!grants(&rs, "ci", "ci-7", "run", "{\"argv\":[\"git\"]}"),
	    "an argv shorter than the prefix");
	ok(!grants(&rs, "ci", "ci-7", "run", "{\"argv\":[\"git\","
	    "\"pushx\"]}"), "an argv item that only begins like it");
	ok(!grants(&rs, "ci", "ci-7", "run", "{\"argv\":[\"/usr/bin/git\","
	    "\"push\"]}"), "a program by another name");
	ok(!grants(&rs, "ci", "ci-7", "delete", "{\"path\":\"x\"}"),
	    "another operation");
	ok(grants(&rs, "ci", "p", "write", "{\"path\":\"reports/a.md\"}"),
	    "a path the glob matches");
	ok(grants(&rs, "ci", "p", "write", "{\"path\":\"./reports//a.md\"}"),
	    "the same path, written another way");
	ok(!grants(&rs, "ci", "p", "write", "{\"path\":\"reports/../x.md\"}"),
	    "a path that leaves through ..");
	ok(!grants(&rs, "ci", "p", "write", "{\"path\":\"reports/a/b.md\"}"),
	    "a path deeper than the glob");
	ok(!grants(&rs, "ci", "p", "write", "{\"path\":\"/reports/a.md\"}"),
	    "an absolute path");
	ok(!grants(&rs, "ci", "p", "write", "{\"content\":\"x\"}"),
	    "no path at all");

	/* the hourly cap */
	a = json_pack("{s:[s,s]}", "argv", "git", "push");
	rule_count(rules_match(&rs, "ci", "ci-1", "run", a, 1000, &capped),
	    1000);
	rule_count(rules_match(&rs, "ci", "ci-1", "run", a, 1001, &capped),
	    1001);
	ok(rules_match(&rs, "ci", "ci-1", "run", a, 1002, &capped) == NULL &&
	    capped == 1, "a third grant within the hour: capped");
	ok(rules_match(&rs, "ci", "ci-1", "run", a, 4599, &capped) == NULL,
	    "still capped 3599 s after the first");
	ok(rules_match(&rs, "ci", "ci-1", "run", a, 4600, &capped) != NULL,
	    "free again an hour after the first");
	ok(rules_find(&rs, "ci", "ci-1", "run", a) != NULL,
	    "rules_find names the rule whatever its rate");
	json_decref(a);
	rules_free(&rs);
}

/*
 * A prefix grants what follows it, never an option that runs a program
 * or configures git, unless the rule names it; nor a command the proxy's
 * classifier refuses (issue 21, finding 7).
 */
static void
runners(void)
{
	static const char text[] = "{\"v\":1,\"rules\":["
	    "{\"name\":\"push\",\"agent\":\"ci\",\"pod\":\"*\","
	    "\"op\":\"run\",\"argv_prefix\":[\"git\",\"push\"],"
	    "\"max_per_hour\":100},"
	    "{\"name\":\"git\",\"agent\":\"dev\",\"pod\":\"*\","
	    "\"op\":\"run\",\"argv_prefix\":[\"git\"],\"max_per_hour\":100},"
	    "{\"name\":\"named\",\"agent\":\"ops\",\"pod\":\"*\","
	    "\"op\":\"run\",\"argv_prefix\":[\"git\",\"-c\","
	    "\"user.name=ci\",\"commit\"],\"max_per_hour\":100},"
	    "{\"name\":\"rebase\",\"agent\":\"rb\",\"pod\":\"*\","
	    "\"op\":\"run\",\"argv_prefix\":[\"git\",\"rebase\"],"
	    "\"max_per_hour\":100},"
	    "{\"name\":\"env\",\"agent\":\"en\",\"pod\":\"*\","
	    "\"op\":\"run\",\"argv_prefix\":[\"env\"],\"max_per_hour\":100}]}";
	static const struct {
		const char *agent, *argv, *what;
		int	 want;
	} cases[] = {
		{ "ci", "[\"git\",\"push\",\"origin\",\"main\"]",
		    "git push origin main", 1 },
		{ "ci", "[\"git\",\"push\",\"--force\",\"origin\"]",
		    "an option that runs nothing", 1 },
		{ "ci", "[\"git\",\"push\",\"--receive-pack=sh -c x\","
		    "\"origin\"]", "push --receive-pack=CMD", 0 },
		{ "ci", "[\"git\",\"push\",\"--receive-pack\",\"sh -c x\","
		    "\"origin\"]", "push --receive-pack CMD", 0 },
		{ "ci", "[\"git\",\"push\",\"--exec=sh -c x\",\"origin\"]",
		    "push --exec=CMD", 0 },
		{ "ci", "[\"git\",\"push\",\"--rec=x\",\"origin\"]",
		    "push --receive-pack abbreviated", 0 },
		{ "ci", "[\"git\",\"push\",\"origin\",\"--exec\",\"x\"]",
		    "push --exec after the remote", 0 },
		{ "dev", "[\"git\",\"status\"]", "git status under [git]", 1 },
		{ "dev", "[\"git\",\"-c\",\"core.sshCommand=sh -c x\","
		    "\"push\"]", "git -c core.sshCommand=CMD push", 0 },
		{ "dev", "[\"git\",\"-c\",\"user.name=x\",\"commit\"]",
		    "git -c of a harmless key: still not named", 0 },
		{ "dev", "[\"git\",\"--config-env=core.pager=E\",\"log\"]",
		    "git --config-env=", 0 },
		{ "dev", "[\"git\",\"--config-env\",\"user.name=E\",\"log\"]",
		    "git --config-env KEY=ENV", 0 },
		{ "dev", "[\"git\",\"--exec-path=/tmp\",\"status\"]",
		    "git --exec-path=DIR", 0 },
		{ "dev", "[\"git\",\"-C\",\"sub\",\"status\"]",
		    "git -C DIR: runs nothing", 1 },
		{ "dev", "[\"git\",\"fetch\",\"--upload-pack=x\"]",
		    "fetch --upload-pack", 0 },
		{ "dev", "[\"git\",\"clone\",\"-u\",\"x\",\"url\"]",
		    "clone -u CMD", 0 },
		{ "dev", "[\"git\",\"ls-remote\",\"-ux\",\"url\"]",
		    "ls-remote -uCMD", 0 },
		{ "dev", "[\"git\",\"diff\",\"--ext-diff\"]",
		    "diff --ext-diff", 0 },
		{ "dev", "[\"git\",\"difftool\",\"--extcmd=x\"]",
		    "difftool --extcmd", 0 },
		{ "dev", "[\"git\",\"difftool\",\"-x\",\"x\"]",
		    "difftool -x CMD", 0 },
		{ "rb", "[\"git\",\"rebase\",\"-x\",\"sh -c x\",\"main\"]",
		    "rebase -x CMD", 0 },
		{ "rb", "[\"git\",\"rebase\",\"-ix\",\"sh -c x\",\"main\"]",
		    "rebase -ix CMD (a cluster)", 0 },
		{ "rb", "[\"git\",\"rebase\",\"--exec\",\"x\",\"main\"]",
		    "rebase --exec CMD", 0 },
		{ "rb", "[\"git\",\"rebase\",\"-i\",\"main\"]",
		    "rebase -i: runs nothing of the agent's", 1 },
		{ "ops", "[\"git\",\"-c\",\"user.name=ci\",\"commit\",\"-m\","
		    "\"x\"]", "a -c the rule names", 1 },
		{ "ops", "[\"git\",\"-c\",\"user.name=ci\",\"commit\","
		    "\"--amend\"]", "a -c the rule names, other options", 1 },
		{ "en", "[\"env\",\"-S\",\"sh -c x\"]",
		    "env -S, which the classifier refuses", 0 },
		{ "en", "[\"env\",\"FOO=1\",\"make\"]", "env NAME=VALUE make",
		    1 },
		{ "ci", "[\"git\",\"push\",\"a\\u0000b\"]",
		    "an argument holding a NUL byte", 0 },
	};
	struct rules rs;
	struct audit_err e;
	char args[512];

	if (!ok(rules_parse(&rs, text, sizeof(text) - 1, &e) == 0,
	    "a rules file of prefix rules"))
		diag("%s", e.msg);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(args, sizeof(args), "{\"argv\":%s}", cases[i].argv);
		ok(grants(&rs, cases[i].agent, "p-1", "run", args) ==
		    cases[i].want, "%s: %s", cases[i].want ? "granted" :
		    "not granted", cases[i].what);
	}
	rules_free(&rs);
}

int
main(void)
{
	malformed();
	limits();
	naming();
	runners();
	return done_testing();
}
