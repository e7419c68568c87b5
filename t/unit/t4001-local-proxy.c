/*
 * nucleus-proxy inside the local driver's sandbox, as the node will run
 * it: its pod file and trust keyring read-only at /etc/nucleus, the
 * handshake on its standard descriptors (hello out, the node's key-cert
 * in), then requests on the channel, descriptor 3.  Needs root and the
 * built proxy (NUCLEUS_BUILD); skipped otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
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
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req) ||
	    line(fd, resp, sizeof(resp)) != 0)
		return NULL;
	return json_loads(resp, 0, &jerr);
}

int
main(void)
{
	const char *build = getenv("NUCLEUS_BUILD");
	char proxy[4096], hello[4096], cmd[4200];
	int chan[2], io[2], code;
	struct audit_seckey *node;
	struct audit_err e;
	struct sandbox sb;
	json_error_t jerr;
	json_t *h = NULL, *cert, *r;
	uint8_t pk[AUDIT_PK_LEN];
	char *argv[] = { SANDBOX_EXE_DIR "/nucleus-proxy", "-C", "-f", "3",
	    "-p", "/etc/nucleus/pod.json", NULL };
	struct sandbox_spec spec = { .name = "p-local", .argv = argv,
	    .binds = { "/usr", "/bin", "/lib", "/lib64", NULL },
	    .conf = conf, .uid = UID, .gid = UID,
	    .lim = { .memory_mib = 512, .scratch_mib = 64, .pids = 64,
	    .cpus_milli = 1000 } };

	if (geteuid() != 0 || build == NULL) {
		skip("needs root and NUCLEUS_BUILD");
		return done_testing();
	}
	if (sodium_init() < 0 || mkdtemp(conf) == NULL ||
	    chown(conf, UID, UID) != 0 || chmod(conf, 0700) != 0)
		return ok(0, "setup"), done_testing();
	snprintf(proxy, sizeof(proxy), "%s/nucleus-proxy", build);
	spec.exe = proxy;
	put("pod.json", "{\"v\":1,\"pod\":\"p-local\",\"policy\":\"local_dev\","
	    "\"root\":\"/work\",\"state\":\"/var/lib/nucleus\","
	    "\"trust\":\"/etc/nucleus/trust\",\"path\":[\"/usr/bin\","
	    "\"/bin\"]}\n");
	put("trust", "authority-1 ed25519 "
	    "GqpR+TB2Bs0UiWgFW+vUdEyOZYcU28XiBRtmvIPaiDs= authority\n");
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, chan) != 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, io) != 0)
		return ok(0, "socketpair"), done_testing();
	spec.fds[0] = chan[1];
	spec.fds[1] = -1;
	spec.set_stdio = 1;
	spec.stdio[0] = io[1];
	spec.stdio[1] = io[1];
	spec.stdio[2] = 2;
	if (!ok(sandbox_start(&spec, &sb, &e) == 0, "the proxy starts in "
	    "the sandbox")) {
		diag("%s", e.msg);
		return done_testing();
	}
	close(chan[1]);
	close(io[1]);

	/* The handshake: its fresh key, certified by the node's. */
	if (!ok(line(io[0], hello, sizeof(hello)) == 0 && (h = json_loads(
	    hello, 0, &jerr)) != NULL, "it says hello")) {
		sandbox_kill(&sb);
		sandbox_release(&sb);
		return done_testing();
	}
	is_str(json_string_value(json_object_get(h, "pod")), "p-local",
	    "for its pod");
	audit_seckey_generate(&node, "node-1", &e);
	audit_unb64(pk, sizeof(pk), json_string_value(json_object_get(h,
	    "pubkey")), json_string_length(json_object_get(h, "pubkey")));
	cert = audit_key_cert(node, json_string_value(json_object_get(h,
	    "log")), pk, (int64_t)time(NULL), &e);
	{
		char *s = json_dumps(cert, JSON_COMPACT);

		snprintf(cmd, sizeof(cmd), "%s\n", s);
		free(s);
	}
	ok(write(io[0], cmd, strlen(cmd)) == (ssize_t)strlen(cmd),
	    "the node's key-cert sent");

	r = ask(chan[0], "w1", "write", "{\"path\":\"hello.txt\","
	    "\"content\":\"hi\\n\"}");
	ok(r != NULL && json_is_true(json_object_get(r, "ok")),
	    "a write lands in /work");
	json_decref(r);
	r = ask(chan[0], "r1", "read", "{\"path\":\"hello.txt\"}");
	ok(r != NULL && strcmp(json_string_value(json_object_get(
	    json_object_get(r, "result"), "data")), "hi\n") == 0,
	    "and reads back");
	json_decref(r);
	r = ask(chan[0], "x1", "run", "{\"argv\":[\"cat\",\"/proc/net/dev\"]}");
	ok(r != NULL && json_is_true(json_object_get(r, "ok")) &&
	    strstr(json_string_value(json_object_get(json_object_get(r,
	    "result"), "stdout")), "eth") == NULL,
	    "a command runs, and sees no interface but lo");
	if (r != NULL && !json_is_true(json_object_get(r, "ok"))) {
		char *s = json_dumps(r, 0);

		diag("%s", s);
		free(s);
	}
	json_decref(r);
	r = ask(chan[0], "e1", "read", "{\"path\":\"../etc/nucleus/trust\"}");
	ok(r != NULL && strcmp(json_string_value(json_object_get(
	    json_object_get(r, "error"), "kind")), "sandbox_escape") == 0,
	    "an escape is still refused by the proxy");
	json_decref(r);
	r = ask(chan[0], "a1", "stat", "{\"path\":\".\"}");
	ok(r != NULL && json_integer_value(json_object_get(json_object_get(r,
	    "audit"), "seq")) > 2, "each answer names its audit record");
	json_decref(r);

	/* The channel closed: the proxy ends, and with it the sandbox. */
	close(chan[0]);
	ok(sandbox_wait(&sb, &code) == 0 && code == 0, "it ends with its "
	    "channel (status %d)", code);
	sandbox_release(&sb);
	ok(sb.cg.n == 0, "its cgroup is gone");
	close(io[0]);
	json_decref(h);
	json_decref(cert);
	audit_seckey_free(node);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", conf);
	(void)!system(cmd);
	return done_testing();
}
