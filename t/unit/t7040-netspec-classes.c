/*
 * The address classes the gateway refuses (libdaemon/netspec.c), as a
 * hostile agent would spell them: IPv6 forms that carry a refused IPv4
 * address (mapped, compatible, NAT64, 6to4, Teredo), and cidr entries
 * wider than a class ("0.0.0.0/0", "::/0"), which admit public addresses
 * but never name loopback, metadata or a private network; and the names a
 * client may give, as the allowlist compares them; and proxy requests
 * spelt to be read one way by the proxy and another by a server.
 */
#define _GNU_SOURCE
#include <string.h>

#include "egress.h"
#include "netspec.h"
#include "tap.h"

static const char *
class_of(const char *text)
{
	struct net_addr a;

	if (!netspec_literal(text, &a))
		return "(not an address)";
	return netspec_forbidden(&a);
}

static void
is_class(const char *text, const char *want)
{
	const char *got = class_of(text);

	if (want == NULL)
		ok(got == NULL, "%s: no refused class (got %s)", text,
		    got != NULL ? got : "none");
	else
		is_str(got != NULL ? got : "none", want, "%s: %s", text, want);
}

static int
admits(const char *spec, const char *addr, int port)
{
	json_error_t je;
	json_t *v = json_loads(spec, 0, &je);
	struct netspec ns;
	struct audit_err e;
	struct net_addr a;
	int rule = -2;

	if (v != NULL && netspec_parse(&ns, v, &e) == 0 &&
	    netspec_literal(addr, &a))
		rule = netspec_match_addr(&ns, &a, port);
	json_decref(v);
	return rule;
}

static int
by_name(const char *spec, const char *name, int port)
{
	json_error_t je;
	json_t *v = json_loads(spec, 0, &je);
	struct netspec ns;
	struct audit_err e;
	int rule = -2;

	if (v != NULL && netspec_parse(&ns, v, &e) == 0)
		rule = netspec_match_name(&ns, name, port);
	json_decref(v);
	return rule;
}

/* Several entries admit a name or an address: the most specific
 * decides, of equals one asking for approval, whatever their order. */
static void
specific(void)
{
	const char *push = "{\"allow\":[{\"host\":\"*.example.org\","
	    "\"ports\":[443]},{\"host\":\"push.example.org\",\"ports\":"
	    "[443],\"approval\":true}]}";
	const char *push2 = "{\"allow\":[{\"host\":\"push.example.org\","
	    "\"ports\":[443],\"approval\":true},{\"host\":"
	    "\"*.example.org\",\"ports\":[443]}]}";
	const char *free_docs = "{\"allow\":[{\"host\":\"*.example.org\","
	    "\"ports\":[443],\"approval\":true},{\"host\":"
	    "\"docs.example.org\",\"ports\":[443]},{\"host\":"
	    "\"*.cdn.example.org\",\"ports\":[443]}]}";
	const char *twice = "{\"allow\":[{\"host\":\"a.test\",\"ports\":"
	    "[443]},{\"host\":\"a.test\",\"ports\":[443],\"approval\":"
	    "true}]}";
	const char *nets = "{\"allow\":[{\"cidr\":\"203.0.113.0/24\","
	    "\"ports\":[443]},{\"cidr\":\"203.0.113.5/32\",\"ports\":"
	    "[443],\"approval\":true}]}";

	is_int(by_name(push, "push.example.org", 443), 1,
	    "push.example.org's approval entry decides beside *.example.org");
	is_int(by_name(push2, "push.example.org", 443), 0,
	    "whatever the order");
	is_int(by_name(push, "docs.example.org", 443), 0,
	    "another name: the pattern");
	is_int(by_name(push, "push.example.org", 8443), -1,
	    "another port: none");
	is_int(by_name(free_docs, "docs.example.org", 443), 1,
	    "a name without approval beside an approval pattern");
	is_int(by_name(free_docs, "a.cdn.example.org", 443), 2,
	    "a longer pattern before a shorter");
	is_int(by_name(free_docs, "www.example.org", 443), 0,
	    "the approval pattern for the rest");
	is_int(by_name(twice, "a.test", 443), 1,
	    "of two equal entries, the one asking for approval");
	is_int(admits(nets, "203.0.113.5", 443), 1,
	    "a /32 asking for approval beside its /24");
	is_int(admits(nets, "203.0.113.6", 443), 0, "the /24 for the rest");
}

static int
http(const char *req, struct egress_target *t)
{
	return egress_parse_http(req, strlen(req), t);
}

static void
requests(void)
{
	static const char *const bad[] = {
		"GET http://ok.test/\nHost: evil.test HTTP/1.1\r\n\r\n",
		"GET http://ok.test/ HTTP/1.1\r\nX: a\rHost: evil\r\n\r\n",
		"GET http://ok.test/ HTTP/1.1\r\nX: a\nHost: evil\r\n\r\n",
		"CONNECT ok.test:0 HTTP/1.1\r\n\r\n",
		"CONNECT ok.test:65536 HTTP/1.1\r\n\r\n",
		"CONNECT ok.test HTTP/1.1\r\n\r\n",
		"CONNECT allowed.test@evil.test:443 HTTP/1.1\r\n\r\n",
		"GET http://u@ok.test/ HTTP/1.1\r\n\r\n",
		"GET http://ok.test:80@evil.test/ HTTP/1.1\r\n\r\n",
		"GET file:///etc/passwd HTTP/1.1\r\n\r\n",
		NULL };
	struct egress_target t;
	static const uint8_t mapped[] = { 5, 1, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0, 0xff, 0xff, 127, 0, 0, 1, 0, 80 };

	for (int i = 0; bad[i] != NULL; i++)
		is_int(http(bad[i], &t), EP_BAD, "a request spelt to mislead, %d, refused", i);
	ok(http("GET http://OK.test/x HTTP/1.1\r\nHost: evil\r\n\r\n",
	    &t) == EP_OK && strcmp(t.host, "OK.test") == 0 && t.port == 80,
	    "a plain request: its URL's host and port");
	ok(http("CONNECT ok.test:0443 HTTP/1.1\r\n\r\n", &t) == EP_OK &&
	    t.port == 443, "a port's leading zeros");
	ok(http("CONNECT [::ffff:127.0.0.1]:80 HTTP/1.1\r\n\r\n", &t) ==
	    EP_OK && strcmp(t.host, "[::ffff:127.0.0.1]") == 0,
	    "a bracketed IPv6 address, kept as named");
	ok(egress_parse_socks_request(mapped, sizeof(mapped), &t) == EP_OK &&
	    strcmp(t.host, "::ffff:127.0.0.1") == 0 && t.port == 80,
	    "SOCKS5, an IPv6 address: its text");
	ok(!egress_header_kept("Host: evil", 10) &&
	    !egress_header_kept("hOsT:evil", 9) &&
	    egress_header_kept("X-Host: a", 9),
	    "a plain request's Host lines are the proxy's to say");
}

static void
names(void)
{
	char out[NET_HOST_MAX + 1];
	static const char *const bad[] = { "a..b", ".a",
	    "a_b.test", "ok.test..", "127.0.0.1", "127.0.0.1.", "[::1]",
	    "::ffff:127.0.0.1", "allowed@evil.test", "ok.test:80",
	    "ok%2etest", "-a.test", "a-.test", "\xc3\xa9.test",
	    /* addresses in a resolver's other spellings */
	    "127.1", "2130706433", "0x7f000001", "0177.0.0.1", "0x7f.0.0.1",
	    "1.2.3.4.5", "a.123", NULL };
	static const char *const good[] = { "123.example", "1a.test",
	    "xn--bcher-kva.example", "a-b.c0", NULL };

	ok(netspec_name("OK.Test.", 8, out) && strcmp(out, "ok.test") == 0,
	    "upper case and one trailing dot: ok.test");
	ok(!netspec_name("ok.test\0.evil", 13, out),
	    "a NUL inside a name: refused");
	for (int i = 0; good[i] != NULL; i++)
		ok(netspec_name(good[i], strlen(good[i]), out), "%s: a name",
		    good[i]);
	for (int i = 0; bad[i] != NULL; i++)
		ok(!netspec_name(bad[i], strlen(bad[i]), out), "%s: not a name the allowlist speaks of", bad[i]);
}

int
main(void)
{
	static const char *const v4[][2] = {
		{ "127.0.0.1", "loopback" }, { "127.255.255.254", "loopback" },
		{ "169.254.169.254", "link-local" },
		{ "10.0.0.1", "private" }, { "172.31.255.255", "private" },
		{ "192.168.1.1", "private" }, { "100.64.0.1", "shared" },
		{ "100.127.255.255", "shared" }, { "224.0.0.1", "multicast" },
		{ "0.0.0.0", "unspecified" }, { "0.1.2.3", "unspecified" },
		{ "255.255.255.255", "broadcast" }, { "240.0.0.1", "reserved" },
		{ "172.32.0.1", NULL }, { "100.128.0.1", NULL },
		{ "198.18.0.1", NULL }, { "198.19.255.255", NULL },
		{ "11.0.0.1", NULL }, { "223.255.255.255", NULL },
	};
	static const char *const v6[][2] = {
		{ "::1", "loopback" }, { "::", "unspecified" },
		{ "[::1]", "loopback" },
		{ "::ffff:127.0.0.1", "loopback" },
		{ "::ffff:169.254.169.254", "link-local" },
		{ "::ffff:198.18.0.1", "ipv4-mapped" },
		/* IPv4-compatible, deprecated: whatever it carries */
		{ "::127.0.0.1", "loopback" }, { "::10.0.0.1", "private" },
		{ "::198.18.0.1", "ipv4-compatible" },
		/* NAT64's well-known prefix reaches the address it carries */
		{ "64:ff9b::169.254.169.254", "link-local" },
		{ "64:ff9b::a00:1", "private" },
		{ "64:ff9b::7f00:1", "loopback" },
		{ "64:ff9b::198.18.0.1", NULL },
		{ "64:ff9b:1::1", "private" },
		/* 6to4 */
		{ "2002:a9fe:a9fe::1", "link-local" },
		{ "2002:7f00:1::", "loopback" },
		{ "2002:c612:1::1", NULL },
		/* Teredo: the server's address, the client's inverted */
		{ "2001:0:a00:1::1", "private" },
		{ "2001:0:c612:1::f5ff:fffe", "private" },
		{ "2001:0:c612:1::39ed:fffe", NULL },
		{ "fe80::1", "link-local" }, { "febf::1", "link-local" },
		{ "fec0::1", "private" }, { "fc00::1", "private" },
		{ "fdff::1", "private" }, { "ff02::1", "multicast" },
		{ "2001:db8::1", NULL }, { "2606:4700::1", NULL },
	};

	for (size_t i = 0; i < sizeof(v4) / sizeof(v4[0]); i++)
		is_class(v4[i][0], v4[i][1]);
	for (size_t i = 0; i < sizeof(v6) / sizeof(v6[0]); i++)
		is_class(v6[i][0], v6[i][1]);

	/* A cidr entry wider than a class admits its public addresses,
	 * never the refused ones; one inside the class names them. */
	{
		const char *any = "{\"allow\":[{\"cidr\":\"0.0.0.0/0\","
		    "\"ports\":[80]},{\"cidr\":\"::/0\",\"ports\":[80]}]}";
		const char *named = "{\"allow\":[{\"cidr\":\"127.0.0.0/8\","
		    "\"ports\":[80]},{\"cidr\":\"169.254.169.254/32\","
		    "\"ports\":[80]},{\"cidr\":\"::ffff:10.0.0.0/104\","
		    "\"ports\":[80]},{\"cidr\":\"64:ff9b::a00:0/104\","
		    "\"ports\":[80]}]}";
		static const char *const never[] = { "127.0.0.1",
		    "169.254.169.254", "10.0.0.1", "0.0.0.0", "100.64.0.1",
		    "224.0.0.1", "::1", "::", "::ffff:127.0.0.1",
		    "::ffff:169.254.169.254", "64:ff9b::a9fe:a9fe",
		    "2002:a9fe:a9fe::", "fe80::1", "fd00::1",
		    "::ffff:198.18.0.1", NULL };

		is_int(admits(any, "198.18.0.1", 80), 0,
		    "0.0.0.0/0 admits a public address");
		is_int(admits(any, "2001:db8::1", 80), 1,
		    "::/0 admits a public address");
		is_int(admits(any, "198.18.0.1", 81), -1,
		    "0.0.0.0/0 on another port: no");
		for (int i = 0; never[i] != NULL; i++)
			is_int(admits(any, never[i], 80), -1,
			    "0.0.0.0/0 and ::/0 do not name %s", never[i]);
		is_int(admits(named, "127.0.0.2", 80), 0,
		    "127.0.0.0/8 names loopback");
		is_int(admits(named, "169.254.169.254", 80), 1,
		    "169.254.169.254/32 names it");
		is_int(admits(named, "169.254.169.253", 80), -1,
		    "but not its neighbour");
		is_int(admits(named, "::ffff:10.1.2.3", 80), 2,
		    "::ffff:10.0.0.0/104 names the mapped private network");
		is_int(admits(named, "64:ff9b::a01:203", 80), 3,
		    "64:ff9b::a00:0/104 names 10/8 through NAT64");
		is_int(admits("{\"allow\":[{\"cidr\":\"10.0.0.0/7\","
		    "\"ports\":[80]}]}", "10.0.0.1", 80), -1,
		    "10.0.0.0/7, wider than 10/8, does not name it");
		is_int(admits("{\"allow\":[{\"cidr\":\"10.0.0.0/7\","
		    "\"ports\":[80]}]}", "11.0.0.1", 80), 0,
		    "but admits 11.0.0.1");
	}
	names();
	specific();
	requests();
	return done_testing();
}
