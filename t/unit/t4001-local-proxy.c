/*
 * The local driver: nucleus-proxy inside the sandbox, as the node runs
 * it: its pod file and trust keyring read-only at /etc/nucleus, the
 * handshake on its standard descriptors (hello out, the node's key-cert
 * in), then requests on the channel, which the node may connect to
 * again.  Needs root and the built proxy (NUCLEUS_BUILD); skipped
 * otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "node.h"
#include "tap.h"

#define UID	65534

static char conf[] = "/tmp/nucleus-t4001-XXXXXX";
static int audit_lines;		/* the pod's, come on the channel */

static void
put(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", conf, name);
	if ((f = fopen(path, "we")) == NULL || fputs(text, f) < 0 ||
	    fclose(f) != 0 || chmod(path, 0600) != 0 ||
	    chown(path, UID, UID) != 0)
		diag("%s: %s", path, strerror(errno));
}

static int
line(int fd, char *buf, size_t sz)
{
	size_t n = 0;

	while (n + 1 < sz) {
		ssize_t r = read(fd, buf + n, 1);

		if (r <= 0)
			return -1;
		if (buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = '\0';
	return 0;
}

static json_t *
ask(int fd, const char *id, const char *op, const char *args)
{
	char req[4096], resp[1 << 16];
	json_error_t jerr;

	snprintf(req, sizeof(req), "{\"type\":\"request\",\"v\":1,\"id\":\"%s\","
	    "\"kid\":\"agent-7\",\"ts\":%lld,\"nonce\":"
	    "\"00000000000000000000000000000000\",\"pod\":\"p-local\","
	    "\"op\":\"%s\",\"args\":%s,\"sig\":\"unchecked\"}\n", id,
	    (long long)time(NULL), op, args);
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req))
		return NULL;
	/* The pod's audit lines (-A) come first, then the answer. */
	for (;;) {
		json_t *o;

		if (line(fd, resp, sizeof(resp)) != 0 ||
		    (o = json_loads(resp, 0, &jerr)) == NULL)
			return NULL;
		if (strcmp(json_string_value(json_object_get(o, "type")),
		    "audit") != 0)
			return o;
		audit_lines++;
		json_decref(o);
	}
}

int
main(void)
{
	const char *build = getenv("NUCLEUS_BUILD");
	char proxy[4096], trust[256], dir[256], cmd[512];
	struct local_env env = { .proxy = proxy, .trust = trust, .uid = UID,
	    .gid = UID, .binds = { "/usr", "/bin", "/lib", "/lib64", NULL },
	    .work_root = -1 };
	struct audit_seckey *node;
	struct podspec spec;
	struct local_pod pod;
	struct audit_err e;
	json_error_t jerr;
	json_t *o, *r;
	int code, rc;

	if (geteuid() != 0 || build == NULL) {
		skip("needs root and NUCLEUS_BUILD");
		return done_testing();
	}
	if (sodium_init() < 0 || mkdtemp(conf) == NULL || chmod(conf, 0711))
		return ok(0, "setup"), done_testing();
	snprintf(proxy, sizeof(proxy), "%s/nucleus-proxy", build);
	snprintf(trust, sizeof(trust), "%s/trust", conf);
	snprintf(dir, sizeof(dir), "%s/p-local", conf);
	put("trust", "authority-1 ed25519 "
	    "GqpR+TB2Bs0UiWgFW+vUdEyOZYcU28XiBRtmvIPaiDs= authority\n");
	audit_seckey_generate(&node, "node-1", &e);
	env.node_key = node;
	o = json_loads("{\"v\":1,\"name\":\"p-local\",\"policy\":"
	    "\"local_dev\",\"agents\":[\"agent-7\"],\"resources\":"
	    "{\"memory_mib\":512,\"pids\":64,\"scratch_mib\":64}}", 0,
	    &jerr);
	if (podspec_parse(&spec, o, &e) != 0)
		return ok(0, "the spec: %s", e.msg), done_testing();
	json_decref(o);
	/* The node chooses the log, as pod.create does, before the start. */
	if (pods_log_id(&spec, &e) != 0)
		return ok(0, "the log id: %s", e.msg), done_testing();

	if (!ok(local_start(&spec, &env, dir, &pod, &e) == 0, "the proxy "
	    "starts in the sandbox and takes the node's key-cert")) {
		diag("%s", e.msg);
		return done_testing();
	}
	ok(strncmp(pod.log, "p-local.", 8) == 0, "its log is the pod's: %s",
	    pod.log);
	/* The node's end is non-blocking; this test asks and waits. */
	ok(fcntl(pod.chan, F_GETFL) & O_NONBLOCK, "the node's end of the "
	    "channel is non-blocking");
	fcntl(pod.chan, F_SETFL, fcntl(pod.chan, F_GETFL) & ~O_NONBLOCK);

	r = ask(pod.chan, "w1", "write", "{\"path\":\"hello.txt\","
	    "\"content\":\"hi\\n\"}");
	ok(r != NULL && json_is_true(json_object_get(r, "ok")) &&
	    strcmp(json_string_value(json_object_get(json_object_get(r,
	    "audit"), "log")), pod.log) == 0,
	    "a write lands in /work, recorded in that log");
	ok(r != NULL && audit_lines == 2 + 2 && json_integer_value(
	    json_object_get(json_object_get(r, "audit"), "seq")) == 3,
	    "its records (log.open, boot, decision, outcome) came before it");
	json_decref(r);
	r = ask(pod.chan, "r1", "read", "{\"path\":\"hello.txt\"}");
	ok(r != NULL && strcmp(json_string_value(json_object_get(
	    json_object_get(r, "result"), "data")), "hi\n") == 0,
	    "and reads back");
	json_decref(r);
	r = ask(pod.chan, "x1", "run", "{\"argv\":[\"cat\",\"/proc/net/dev\"]}");
	ok(r != NULL && json_is_true(json_object_get(r, "ok")) &&
	    strstr(json_string_value(json_object_get(json_object_get(r,
	    "result"), "stdout")), "eth") == NULL,
	    "a command runs, and sees no interface but lo");
	json_decref(r);
	r = ask(pod.chan, "e1", "read", "{\"path\":\"../etc/nucleus/trust\"}");
	ok(r != NULL && strcmp(json_string_value(json_object_get(
	    json_object_get(r, "error"), "kind")), "sandbox_escape") == 0,
	    "an escape is still refused by the proxy");
	json_decref(r);

	/*
	 * The channel closed: the proxy waits for its node to come back
	 * (a pod outlives its node), and serves the one that connects.
	 */
	close(pod.chan);
	pod.chan = local_connect(&pod, -1, &e);
	if (!ok(pod.chan >= 0, "the node connects to the channel again"))
		diag("%s", e.msg);
	else {
		fcntl(pod.chan, F_SETFL, fcntl(pod.chan, F_GETFL) &
		    ~O_NONBLOCK);
		r = ask(pod.chan, "r2", "read", "{\"path\":\"hello.txt\"}");
		ok(r != NULL && json_is_true(json_object_get(r, "ok")),
		    "and is served again");
		json_decref(r);
	}
	/* The node stops it: the proxy ends, and with it the sandbox. */
	sandbox_kill(&pod.sb);
	rc = sandbox_wait(&pod.sb, &code);
	ok(rc == 0 && code == 128 + SIGKILL, "it ends when the node kills it "
	    "(status %d)", code);
	if (pod.chan >= 0)
		close(pod.chan);
	(void)sandbox_release(&pod.sb, 5000);
	ok(pod.sb.cg.n == 0, "its cgroup is gone");

	spec.lim.pids = 16;
	env.proxy = "/no/such/proxy";
	ok(local_start(&spec, &env, dir, &pod, &e) != 0 && strstr(e.msg,
	    "/no/such/proxy") != NULL, "a proxy that is not there: the pod "
	    "does not start, and says why (%s)", e.msg);
	podspec_free(&spec);
	audit_seckey_free(node);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", conf);
	(void)!system(cmd);
	return done_testing();
}
