/*
 * Pod specs: the defaults, every limit crossed, and the refusals.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node.h"
#include "tap.h"

static int
parses(const char *text, struct podspec *p, char *why, size_t whysz)
{
	json_error_t jerr;
	struct audit_err e;
	json_t *o = json_loads(text, 0, &jerr);
	int rc;

	if (o == NULL) {
		snprintf(why, whysz, "%s", jerr.text);
		return 0;
	}
	rc = podspec_parse(p, o, &e);
	json_decref(o);
	snprintf(why, whysz, "%s", rc == 0 ? "" : e.msg);
	return rc == 0;
}

/* A spec with these resources. */
static const char *
with(const char *res)
{
	static char buf[1024];

	/* A VM's: the local driver's scratch must also fit in its memory
	 * (scratch_fits, below), which would bound these from each other. */
	snprintf(buf, sizeof(buf), "{\"v\":1,\"name\":\"p-1\",\"policy\":"
	    "\"fix_issue\",\"agents\":[\"agent-7\"],\"driver\":\"qemu\","
	    "\"resources\":{%s}}", res);
	return buf;
}

static void
limit(const char *name, long long lo, long long hi)
{
	struct podspec p;
	char why[256], res[128];

	snprintf(res, sizeof(res), "\"%s\":%lld", name, lo);
	ok(parses(with(res), &p, why, sizeof(why)), "%s %lld", name, lo);
	podspec_free(&p);
	snprintf(res, sizeof(res), "\"%s\":%lld", name, hi);
	ok(parses(with(res), &p, why, sizeof(why)), "%s %lld", name, hi);
	podspec_free(&p);
	snprintf(res, sizeof(res), "\"%s\":%lld", name, lo - 1);
	if (!ok(!parses(with(res), &p, why, sizeof(why)) && strstr(why,
	    name) != NULL, "%s %lld refused", name, lo - 1))
		diag("%s", why);
	snprintf(res, sizeof(res), "\"%s\":%lld", name, hi + 1);
	if (!ok(!parses(with(res), &p, why, sizeof(why)) && strstr(why,
	    name) != NULL, "%s %lld refused", name, hi + 1))
		diag("%s", why);
}

/* A spec with this audit member. */
static const char *
with_audit(const char *audit)
{
	static char buf[1024];

	snprintf(buf, sizeof(buf), "{\"v\":1,\"name\":\"p-1\",\"policy\":"
	    "\"fix_issue\",\"agents\":[\"agent-7\"],\"audit\":%s}", audit);
	return buf;
}

/* audit.NAME: lo and hi taken, one past either refused, naming it. */
static void
audit_limit(const char *name, long long lo, long long hi)
{
	struct podspec p;
	char why[256], a[128], full[160];
	long long v[4] = { lo, hi, lo - 1, hi + 1 };

	snprintf(full, sizeof(full), "audit.%s", name);
	for (int i = 0; i < 4; i++) {
		snprintf(a, sizeof(a), "{\"%s\":%lld}", name, v[i]);
		if (i < 2) {
			ok(parses(with_audit(a), &p, why, sizeof(why)),
			    "%s %lld", full, v[i]);
			podspec_free(&p);
		} else if (!ok(!parses(with_audit(a), &p, why, sizeof(why)) &&
		    strstr(why, full) != NULL, "%s %lld refused", full, v[i]))
			diag("%s", why);
	}
}

static void
refused(const char *text, const char *msg, const char *what)
{
	struct podspec p;
	char why[256];

	if (!ok(!parses(text, &p, why, sizeof(why)) && strstr(why, msg) !=
	    NULL, "refused: %s", what))
		diag("got \"%s\"", why);
}

int
main(void)
{
	struct podspec p;
	char why[256], *agents, name[80];
	size_t n;

	if (!ok(parses("{\"v\":1,\"name\":\"p-1\",\"policy\":\"fix_issue\","
	    "\"agents\":[\"agent-7\"]}", &p, why, sizeof(why)),
	    "a minimal spec"))
		diag("%s", why);
	ok(strcmp(p.driver, "local") == 0 && p.lim.memory_mib == 512 &&
	    p.lim.cpus_milli == 1000 && p.lim.pids == 256 &&
	    p.lim.scratch_mib == 256 && p.timeout_s == 0,
	    "the defaults: local, 512 MiB, 1 CPU, 256 pids, 256 MiB, no "
	    "timeout");
	ok(podspec_names(&p, "agent-7") && !podspec_names(&p, "agent-8"),
	    "it names its agents, and no other");
	podspec_free(&p);
	refused("{\"v\":1,\"name\":\"p\",\"policy\":\"fix_issue\",\"agents\":"
	    "[\"a\"],\"resources\":{\"memory_mib\":128,\"scratch_mib\":33}}",
	    "resources.scratch_mib", "a local scratch that leaves memory_mib "
	    "less than 96 MiB");
	ok(parses("{\"v\":1,\"name\":\"p\",\"policy\":\"fix_issue\",\"agents\":"
	    "[\"a\"],\"resources\":{\"memory_mib\":128,\"scratch_mib\":32}}",
	    &p, why, sizeof(why)), "a local scratch that leaves it 96 MiB");
	podspec_free(&p);

	limit("memory_mib", 64, 65536);
	limit("cpus", 1, 64);
	limit("pids", 16, 4096);
	limit("scratch_mib", 1, 65536);
	limit("timeout_s", 0, 7 * 86400);
	limit("commands", 1, 256);

	agents = malloc(65 * 12 + 64);
	n = (size_t)sprintf(agents, "{\"v\":1,\"name\":\"p\",\"policy\":\"local_dev\","
	    "\"agents\":[");
	for (int i = 0; i < 64; i++)
		n += (size_t)sprintf(agents + n, "%s\"a%d\"", i ? "," : "", i);
	strcpy(agents + n, "]}");
	ok(parses(agents, &p, why, sizeof(why)), "64 agents");
	podspec_free(&p);
	strcpy(agents + n, ",\"a64\"]}");
	refused(agents, "agents", "65 agents");
	free(agents);
	refused("{\"v\":1,\"name\":\"p\",\"policy\":\"local_dev\",\"agents\":[]}",
	    "agents", "no agent");
	refused("{\"v\":1,\"name\":\"p\",\"policy\":\"local_dev\",\"agents\":[\"a b\"]}",
	    "agents[0]", "an agent that is not a key id");

	memset(name, 'n', 64);
	name[64] = '\0';
	snprintf(why, sizeof(why), "{\"v\":1,\"name\":\"%s\",\"policy\":\"local_dev\","
	    "\"agents\":[\"a\"]}", name);
	ok(parses(why, &p, why, sizeof(why)), "a name of 64 characters");
	podspec_free(&p);
	name[64] = 'n';
	name[65] = '\0';
	snprintf(why, sizeof(why), "{\"v\":1,\"name\":\"%s\",\"policy\":\"local_dev\","
	    "\"agents\":[\"a\"]}", name);
	refused(why, "name", "a name of 65 characters");

	ok(parses("{\"v\":1,\"name\":\"p\",\"policy\":\"local_dev\",\"agents\":"
	    "[\"a\"],\"work\":{\"copy\":\"proj/src\"}}", &p, why, sizeof(why)) &&
	    strcmp(p.work, "proj/src") == 0, "work.copy, a relative path");
	podspec_free(&p);
	refused("{\"v\":1,\"name\":\"p\",\"policy\":\"local_dev\",\"agents\":[\"a\"],"
	    "\"work\":{\"copy\":\"/etc\"}}", "work.copy", "an absolute work");
	refused("{\"v\":1,\"name\":\"p\",\"policy\":\"local_dev\",\"agents\":[\"a\"],"
	    "\"work\":{\"copy\":\"a/../../etc\"}}", "\"..\"", "a work that climbs");
	refused("{\"v\":1,\"name\":\"p\",\"policy\":\"local_dev\",\"agents\":[\"a\"],"
	    "\"work\":{\"copy\":\"..\"}}", "\"..\"", "a work of ..");
	refused("{\"v\":1,\"name\":\"p\",\"policy\":\"local_dev\",\"agents\":[\"a\"],"
	    "\"work\":{\"copy\":\"a\",\"bind\":\"b\"}}", "work:", "work with "
	    "another member");
	refused("{\"v\":1,\"name\":\"p\",\"policy\":\"local_dev\",\"agents\":[\"a\"],"
	    "\"work\":\"proj\"}", "work:", "work as a string");
	{
		char *big = malloc(POD_WORK_MAX + 200);

		n = (size_t)sprintf(big, "{\"v\":1,\"name\":\"p\",\"policy\":"
		    "\"local_dev\",\"agents\":[\"a\"],\"work\":{\"copy\":\"");
		memset(big + n, 'w', POD_WORK_MAX);
		strcpy(big + n + POD_WORK_MAX, "\"}}");
		ok(parses(big, &p, why, sizeof(why)), "work.copy of %d bytes",
		    POD_WORK_MAX);
		podspec_free(&p);
		memset(big + n, 'w', POD_WORK_MAX + 1);
		strcpy(big + n + POD_WORK_MAX + 1, "\"}}");
		refused(big, "work.copy", "work.copy one byte longer");
		free(big);
	}
	refused("{\"v\":1,\"name\":\"../p\",\"policy\":\"local_dev\",\"agents\":[\"a\"]}",
	    "name", "a name with a slash");
	refused("{\"v\":2,\"name\":\"p\",\"policy\":\"local_dev\",\"agents\":[\"a\"]}",
	    "v:", "version 2");
	refused("{\"v\":1,\"name\":\"p\",\"policy\":\"local_dev\",\"agents\":[\"a\"],"
	    "\"driver\":\"docker\"}", "driver", "an unknown driver");
	refused("{\"v\":1,\"name\":\"p\",\"policy\":7,\"agents\":[\"a\"]}",
	    "policy", "a policy that is a number");
	refused("{\"v\":1,\"name\":\"p\",\"policy\":\"x\",\"agents\":[\"a\"]}",
	    "policy: unknown profile", "an unknown profile");
	refused("{\"v\":1,\"name\":\"p\",\"policy\":{\"capabilities\":{}},"
	    "\"agents\":[\"a\"]}", "policy", "a policy object that does not "
	    "load (no budget nor time)");
	ok(parses("{\"v\":1,\"name\":\"p\",\"policy\":{\"profile\":\"local_dev\","
	    "\"capabilities\":{}},"
	    "\"agents\":[\"a\"],\"driver\":\"qemu\"}", &p, why, sizeof(why)) &&
	    json_is_object(p.policy) && strcmp(p.driver, "qemu") == 0,
	    "an inline policy, and the qemu driver");
	ok(strcmp(p.image, "root") == 0, "a VM's image is root by default");
	podspec_free(&p);
	ok(parses("{\"v\":1,\"name\":\"p\",\"policy\":\"local_dev\",\"agents\":[\"a\"],"
	    "\"driver\":\"qemu\",\"image\":\"tools-2\"}", &p, why,
	    sizeof(why)) && strcmp(p.image, "tools-2") == 0, "an image named");
	podspec_free(&p);
	{
		char img[POD_IMAGE_MAX + 2], spec[256];

		memset(img, 'a', sizeof(img) - 1);
		img[POD_IMAGE_MAX] = '\0';
		snprintf(spec, sizeof(spec), "{\"v\":1,\"name\":\"p\","
		    "\"policy\":\"local_dev\",\"agents\":[\"a\"],\"driver\":"
		    "\"qemu\",\"image\":\"%s\"}", img);
		ok(parses(spec, &p, why, sizeof(why)), "an image name of %d "
		    "characters", POD_IMAGE_MAX);
		podspec_free(&p);
		img[POD_IMAGE_MAX] = 'a';
		img[POD_IMAGE_MAX + 1] = '\0';
		snprintf(spec, sizeof(spec), "{\"v\":1,\"name\":\"p\","
		    "\"policy\":\"local_dev\",\"agents\":[\"a\"],\"driver\":"
		    "\"qemu\",\"image\":\"%s\"}", img);
		refused(spec, "image", "an image name one longer");
	}
	refused("{\"v\":1,\"name\":\"p\",\"policy\":\"local_dev\",\"agents\":[\"a\"],"
	    "\"driver\":\"qemu\",\"image\":\"../x\"}", "image",
	    "an image that is a path");
	refused("{\"v\":1,\"name\":\"p\",\"policy\":\"local_dev\",\"agents\":[\"a\"],"
	    "\"image\":\"root\"}", "image", "an image for the local driver");
	refused("{\"v\":1,\"name\":\"p\",\"policy\":\"local_dev\",\"agents\":[\"a\"],"
	    "\"memory\":1}", "unknown member", "an unknown member");
	refused(with("\"memory\":64"), "unknown member", "an unknown resource "
	    "(a typo must not leave the pod unlimited)");
	refused(with("\"pids\":\"8\""), "pids", "a limit that is a string");

	ok(parses(with(""), &p, why, sizeof(why)) && p.audit.copy_mib == 0 &&
	    p.audit.record_kib == POD_RECORD_KIB_DEFAULT &&
	    p.audit.rate_kib == POD_RATE_KIB_DEFAULT, "the audit quota's "
	    "defaults: the node's copy_mib, %d KiB a record, %d KiB/s",
	    POD_RECORD_KIB_DEFAULT, POD_RATE_KIB_DEFAULT);
	podspec_free(&p);
	audit_limit("copy_mib", 1, POD_COPY_MIB_MAX);
	audit_limit("record_kib", POD_RECORD_KIB_MIN, POD_RECORD_KIB_MAX);
	audit_limit("rate_kib", POD_RATE_KIB_MIN, POD_RATE_KIB_MAX);
	refused(with_audit("{\"copy_mb\":1}"), "audit: unknown member",
	    "an unknown audit member");
	refused(with_audit("{\"rate_kib\":\"8\"}"), "audit.rate_kib",
	    "an audit quota that is a string");
	refused(with_audit("64"), "audit: expected an object",
	    "audit that is not an object");
	return done_testing();
}
