/*
 * A pod spec: what pod.create asks for (nucleus-pod(5) to come).
 *
 *	{"v": 1, "name": "p-0001", "driver": "local",
 *	 "image": "root",			(a VM's root image of commands)
 *	 "policy": "fix_issue",			(a profile, or a policy object)
 *	 "agents": ["agent-7"],			(who may call its tools)
 *	 "resources": {"memory_mib": 512, "cpus": 1, "pids": 256,
 *	               "scratch_mib": 256, "timeout_s": 3600},
 *	 "audit": {"copy_mib": 256, "record_kib": 128, "rate_kib": 4096}}
 *
 * Every member is checked here, once, with a message naming it; an
 * unknown member is an error (a typo in a limit must not leave the pod
 * unlimited).  The policy itself is the proxy's to read: only its shape
 * is checked here.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node.h"
#include "members.h"
#include "netspec.h"
#include "policy.h"

static const char *const spec_members[] = {
	"v", "name", "driver", "image", "policy", "agents", "resources",
	"work", "audit", "network", NULL
};

static const char *const resource_members[] = {
	"memory_mib", "cpus", "pids", "scratch_mib", "timeout_s", "commands",
	NULL
};

static const char *const drivers[] = { "local", "qemu", "firecracker",
    NULL };

static int
known(const json_t *o, const char *const *names, const char *where,
    struct audit_err *err)
{
	const char *k;

	if ((k = members_unknown(o, names)) != NULL)
		return audit_errf(err, "%sunknown member \"%.64s\"", where, k);
	return 0;
}

static int
image_name(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > POD_IMAGE_MAX || s[0] == '-' || s[0] == '_')
		return 0;
	return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

/*
 * A path of work: relative and never climbing, resolved beneath the
 * node's work root, not on the host at large.
 */
static int
work_path(char *dst, const json_t *c, const char *member,
    struct audit_err *err)
{
	const char *s, *q;
	size_t len;

	if (c == NULL)
		return 0;
	s = json_string_value(c);
	len = s != NULL ? json_string_length(c) : 0;
	if (len == 0 || len > POD_WORK_MAX || strlen(s) != len || s[0] == '/')
		return audit_errf(err, "%s: expected a relative path of "
		    "1 to %d bytes", member, POD_WORK_MAX);
	for (q = s; *q != '\0'; q = *q == '/' ? q + 1 : q) {
		size_t n = strcspn(q, "/");

		if (n == 2 && q[0] == '.' && q[1] == '.')
			return audit_errf(err, "%s: \"..\" is not "
			    "allowed", member);
		q += n;
	}
	memcpy(dst, s, len + 1);
	return 0;
}

/*
 * work: {"copy": PATH, "export": PATH}, either or both: a directory
 * beneath the node's work root to copy into the pod's /work; one to
 * export its /work into when the pod ends (podwork.c).
 */
static int
work(struct podspec *p, const json_t *w, struct audit_err *err)
{
	static const char *const names[] = { "copy", "export", NULL };

	if (w == NULL)
		return 0;
	if (!json_is_object(w) || json_object_size(w) == 0 ||
	    members_unknown(w, names) != NULL)
		return audit_errf(err, "work: expected {\"copy\": PATH, "
		    "\"export\": PATH}, either or both");
	if (work_path(p->work, json_object_get(w, "copy"), "work.copy",
	    err) != 0)
		return -1;
	return work_path(p->work_export, json_object_get(w, "export"),
	    "work.export", err);
}

/* An integer member in [min, max], or def when absent. */
static int
bounded(const json_t *o, const char *name, long long min, long long max,
    long long def, long long *out, struct audit_err *err)
{
	const json_t *v = json_object_get(o, name);

	if (v == NULL) {
		*out = def;
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < min ||
	    json_integer_value(v) > max)
		return audit_errf(err, "resources.%s: expected %lld to %lld",
		    name, min, max);
	*out = json_integer_value(v);
	return 0;
}

void
podspec_free(struct podspec *p)
{
	for (size_t i = 0; i < p->nagents; i++)
		free(p->agents[i]);
	free(p->agents);
	json_decref(p->policy);
	json_decref(p->network);
	memset(p, 0, sizeof(*p));
}

/* name: the one grammar of a pod's name, checked before any disk use. */
static int
spec_name(struct podspec *p, const json_t *v, struct audit_err *err)
{
	if (!json_is_string(v) || !audit_podname_valid(json_string_value(v),
	    json_string_length(v)))
		return audit_errf(err, "name: expected 1 to %d characters of "
		    "[A-Za-z0-9._-], the first a letter or a digit",
		    POD_NAME_MAX);
	return audit_fit(p->name, sizeof(p->name), err, "%s",
	    json_string_value(v));
}

/* driver, and image: a VM's root image, <guest-dir>/<image>.squashfs */
static int
spec_driver(struct podspec *p, const json_t *o, struct audit_err *err)
{
	const json_t *v;
	size_t i;

	v = json_object_get(o, "driver");
	if (audit_fit(p->driver, sizeof(p->driver), NULL, "%s", v == NULL ?
	    "local" : json_is_string(v) ? json_string_value(v) : "") != 0)
		p->driver[0] = '\0';
	for (i = 0; drivers[i] != NULL; i++)
		if (strcmp(p->driver, drivers[i]) == 0)
			break;
	if (drivers[i] == NULL)
		return audit_errf(err, "driver: expected local, qemu or "
		    "firecracker");
	v = json_object_get(o, "image");
	if (v != NULL && strcmp(p->driver, "local") == 0)
		return audit_errf(err, "image: the local driver's commands are "
		    "the host's; only a VM has an image");
	if (v != NULL && (!json_is_string(v) || !image_name(
	    json_string_value(v))))
		return audit_errf(err, "image: expected 1 to %d characters of "
		    "[a-z0-9_-], not starting with - or _", POD_IMAGE_MAX);
	return audit_fit(p->image, sizeof(p->image), err, "%s", v != NULL ?
	    json_string_value(v) : POD_IMAGE_DEFAULT);
}

/* agents: 1 to POD_AGENTS_MAX key ids; p->nagents counts those held. */
static int
spec_agents(struct podspec *p, const json_t *v, struct audit_err *err)
{
	if (!json_is_array(v) || json_array_size(v) < 1 ||
	    json_array_size(v) > POD_AGENTS_MAX)
		return audit_errf(err, "agents: expected 1 to %d key ids",
		    POD_AGENTS_MAX);
	if ((p->agents = calloc(json_array_size(v), sizeof(char *))) == NULL)
		return audit_errf(err, "out of memory");
	for (size_t i = 0; i < json_array_size(v); i++) {
		const json_t *a = json_array_get(v, i);

		if (!json_is_string(a) || !audit_kid_valid(
		    json_string_value(a), json_string_length(a)) ||
		    (p->agents[i] = strdup(json_string_value(a))) == NULL)
			return audit_errf(err, "agents[%zu]: expected a key id",
			    i);
		p->nagents = i + 1;
	}
	return 0;
}

/*
 * A local pod's scratch is a memory file system charged to the pod's
 * memory: it must fit there with POD_MEMORY_RESERVE_MIB left for the
 * proxy and the commands, or filling it kills them.  A VM's scratch is a
 * drive on the host's disk.
 */
static int
scratch_fits(const struct podspec *p, struct audit_err *err)
{
	if (strcmp(p->driver, "local") != 0 || p->lim.scratch_mib +
	    POD_MEMORY_RESERVE_MIB <= p->lim.memory_mib)
		return 0;
	return audit_errf(err, "resources.scratch_mib: %llu MiB does not fit "
	    "in resources.memory_mib %llu with %d MiB left for the proxy, its "
	    "log and the commands (a local pod's scratch is in its memory)",
	    (unsigned long long)p->lim.scratch_mib,
	    (unsigned long long)p->lim.memory_mib, POD_MEMORY_RESERVE_MIB);
}

/* resources: each limit in its bounds, or its default when absent. */
static int
spec_resources(struct podspec *p, const json_t *res, struct audit_err *err)
{
	long long n;

	if (res != NULL && !json_is_object(res))
		return audit_errf(err, "resources: expected an object");
	if (res != NULL && known(res, resource_members, "resources: ",
	    err) != 0)
		return -1;
	if (bounded(res, "memory_mib", POD_MEMORY_MIN, POD_MEMORY_MAX,
	    POD_MEMORY_DEFAULT, &n, err) != 0)
		return -1;
	p->lim.memory_mib = (uint64_t)n;
	if (bounded(res, "cpus", 1, POD_CPUS_MAX, 1, &n, err) != 0)
		return -1;
	p->lim.cpus_milli = (unsigned)n * 1000;
	if (bounded(res, "pids", POD_PIDS_MIN, POD_PIDS_MAX,
	    POD_PIDS_DEFAULT, &n, err) != 0)
		return -1;
	p->lim.pids = (unsigned)n;
	if (bounded(res, "scratch_mib", 1, POD_SCRATCH_MAX,
	    POD_SCRATCH_DEFAULT, &n, err) != 0)
		return -1;
	p->lim.scratch_mib = (uint64_t)n;
	if (scratch_fits(p, err) != 0)
		return -1;
	if (bounded(res, "timeout_s", 0, POD_TIMEOUT_MAX, 0, &n, err) != 0)
		return -1;
	p->timeout_s = n;
	if (bounded(res, "commands", 1, POD_COMMANDS_MAX,
	    POD_COMMANDS_DEFAULT, &n, err) != 0)
		return -1;
	p->lim.commands = (unsigned)n;
	return 0;
}

/*
 * audit: the quota of the pod's host copy (quota.c); each member in its
 * bounds, or its default when absent (copy_mib's: the node's, 0 here).
 */
static int
spec_audit(struct podspec *p, const json_t *a, struct audit_err *err)
{
	static const char *const names[] = { "copy_mib", "record_kib",
	    "rate_kib", NULL };
	static const long long min[] = { 1, POD_RECORD_KIB_MIN,
	    POD_RATE_KIB_MIN }, max[] = { POD_COPY_MIB_MAX,
	    POD_RECORD_KIB_MAX, POD_RATE_KIB_MAX }, def[] = { 0,
	    POD_RECORD_KIB_DEFAULT, POD_RATE_KIB_DEFAULT };
	long long v[3];

	if (a != NULL && !json_is_object(a))
		return audit_errf(err, "audit: expected an object");
	if (a != NULL && known(a, names, "audit: ", err) != 0)
		return -1;
	for (int i = 0; names[i] != NULL; i++) {
		const json_t *m = json_object_get(a, names[i]);

		v[i] = def[i];
		if (m == NULL)
			continue;
		if (!json_is_integer(m) || json_integer_value(m) < min[i] ||
		    json_integer_value(m) > max[i])
			return audit_errf(err, "audit.%s: expected %lld to "
			    "%lld", names[i], min[i], max[i]);
		v[i] = json_integer_value(m);
	}
	p->audit.copy_mib = (uint64_t)v[0];
	p->audit.record_kib = (unsigned)v[1];
	p->audit.rate_kib = (unsigned)v[2];
	return 0;
}

/*
 * network: the egress allowlist (netspec.c), only under a policy whose
 * web_fetch is at least low_risk: reaching out is the untrusted leg of
 * the trifecta, and a policy that never fetches says none is wanted.
 */
static int
spec_network(struct podspec *p, const json_t *v, const struct policy *pol,
    struct audit_err *err)
{
	struct netspec *ns;
	int rc;

	if (v == NULL)
		return 0;
	if ((ns = malloc(sizeof(*ns))) == NULL)
		return audit_errf(err, "out of memory");
	rc = netspec_parse(ns, v, err);
	free(ns);
	if (rc != 0)
		return -1;
	if (pol->caps.level[CAP_WEB_FETCH] == LEVEL_NEVER)
		return audit_errf(err, "network: the policy's web_fetch is "
		    "never, and egress needs it at least low_risk (a pod that "
		    "may not fetch may not connect out either)");
	p->network = json_incref((json_t *)v);
	/* The proxy asks a token of every connection then: so must the
	 * gateway, or a hostile guest's proxy would simply not ask. */
	p->connect_approval = (pol->obligations & CAPSET(CAP_WEB_FETCH)) != 0;
	return 0;
}

int
podspec_parse(struct podspec *p, const json_t *o, struct audit_err *err)
{
	struct policy_error pe;
	struct policy pol;
	const json_t *v;

	memset(p, 0, sizeof(*p));
	if (!json_is_object(o))
		return audit_errf(err, "a pod spec is a JSON object");
	if (known(o, spec_members, "", err) != 0)
		return -1;
	v = json_object_get(o, "v");
	if (!json_is_integer(v) || json_integer_value(v) != 1)
		return audit_errf(err, "v: expected 1");
	if (spec_name(p, json_object_get(o, "name"), err) != 0 ||
	    spec_driver(p, o, err) != 0)
		return -1;
	/* The proxy's own reading of it, so that a wrong one is told now. */
	v = json_object_get(o, "policy");
	if (policy_load_member(&pol, v, (int64_t)time(NULL), &pe) != 0)
		return audit_errf(err, "policy%s%s: %s", pe.path[0] ? "." : "",
		    pe.path, pe.message);
	if (spec_network(p, json_object_get(o, "network"), &pol, err) != 0) {
		policy_free(&pol);
		return -1;
	}
	policy_free(&pol);
	p->policy = json_incref((json_t *)v);
	if (spec_agents(p, json_object_get(o, "agents"), err) != 0 ||
	    spec_resources(p, json_object_get(o, "resources"), err) != 0 ||
	    work(p, json_object_get(o, "work"), err) != 0 ||
	    spec_audit(p, json_object_get(o, "audit"), err) != 0) {
		podspec_free(p);
		return -1;
	}
	return 0;
}

/* Does the pod name this agent? */
int
podspec_names(const struct podspec *p, const char *kid)
{
	for (size_t i = 0; i < p->nagents; i++)
		if (strcmp(p->agents[i], kid) == 0)
			return 1;
	return 0;
}

/*
 * When the pod's policy, as its proxy builds it at start, stops allowing
 * anything: the end of its time window (INT64_MAX if it cannot be built,
 * which podspec_parse has ruled out).
 */
int64_t
podspec_not_after(const struct podspec *p, int64_t start)
{
	struct policy_error pe;
	struct policy pol;
	int64_t t = INT64_MAX;

	if (policy_load_member(&pol, p->policy, start, &pe) == 0) {
		t = pol.window.not_after;
		policy_free(&pol);
	}
	return t;
}
