#!/bin/sh
test_description='egress, as a hostile agent and a hostile guest would try it: a cidr wider than a refused class (0.0.0.0/0, ::/0) never names loopback, metadata or a private address, by address, by name, through SOCKS5 or from the gateway'"'"'s socket; IPv6 forms carrying a refused IPv4 address (NAT64, 6to4, mapped) refused before any open record; a plain request'"'"'s Host is its URL'"'"'s; a policy whose obligations hold web_fetch makes the gateway ask a token too; a hostile proxy asking without end cannot fill the node'"'"'s log'
. "$(dirname "$0")/lib-egress.sh"
egress_netns "$@"
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-pod.sh"
. "$TEST_DIRECTORY/lib-egress.sh"

if ! test_have_prereq ROOT; then
	test_skip_all "the local driver needs root (namespaces and cgroups)"
fi
if [ -z "$NUCLEUS_EGRESS_NETNS" ]; then
	test_skip_all "no network namespace of its own (unshare -n)"
fi

suffix=$(od -An -N4 -tx1 /dev/urandom | tr -d " \n")
any=p-any-$suffix
obl=p-obl-$suffix
test_cleanup() {
	[ -f server.pid ] && kill "$(cat server.pid)"
	[ -f echo.pid ] && kill "$(cat echo.pid)"
	pods_gone "p-*-$suffix*"
}

# A test host on 198.18.0.1:8082 that answers with the Host headers it
# was sent, comma-separated.
cat >echo-host.py <<\PY
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.18.0.1", 8082))
s.listen(8)
open(sys.argv[1], "w").write("ready\n")
while True:
    c, _ = s.accept()
    c.settimeout(10)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            d = c.recv(4096)
            if not d:
                break
            data += d
        hosts = [l.split(b":", 1)[1].strip() for l in data.split(b"\r\n")
                 if l.lower().startswith(b"host:")]
        body = b",".join(hosts) + b"\n"
        c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n"
                  % len(body) + body)
    except OSError:
        pass
    c.close()
PY

echo_start() {
	python3 echo-host.py echo.ready 2>echo.err &
	echo $! >echo.pid &&
	test_wait_for "the Host echo" 10 test -f echo.ready
}

ask() {
	python3 "$TEST_DIRECTORY/helper/egress-ask.py" "n/pods/$1/egress.sock" "$2" >ans
}

test_expect_success 'setup: test hosts, names of IPv6 forms carrying refused addresses, a pod allowed 0.0.0.0/0 and ::/0, a pod whose policy obliges a token for web_fetch' '
	egress_hosts &&
	cat >>hosts <<-\EOF &&
	127.0.0.2	multi.test
	198.18.0.1	multi.test
	64:ff9b::a9fe:a9fe	nat64.test
	2002:a9fe:a9fe::1	sixtofour.test
	EOF
	echo_start &&
	node_setup &&
	node_start -H "$PWD/hosts" &&
	egress_pod $any "{\"allow\":[{\"cidr\":\"0.0.0.0/0\",\"ports\":[8080]},{\"cidr\":\"::/0\",\"ports\":[8080]},{\"host\":\"nat64.test\",\"ports\":[8080]},{\"host\":\"sixtofour.test\",\"ports\":[8080]},{\"host\":\"multi.test\",\"ports\":[8080]},{\"host\":\"ok.test\",\"ports\":[8082]}]}" &&
	saved=$egress_policy &&
	egress_policy=$(echo "$saved" | jq -c ". + {obligations: [\"web_fetch\"]}") &&
	egress_pod $obl "{\"allow\":[{\"host\":\"ok.test\",\"ports\":[8080]}]}" &&
	egress_policy=$saved
'

test_expect_success '0.0.0.0/0 reaches a public address, never loopback, metadata or a private one named by address, in any spelling' '
	egress_curl $any -f http://198.18.0.1:8080/ &&
	test "$(cat out)" = "hello from 198.18.0.1:8080" &&
	for a in 127.0.0.2:loopback 169.254.169.254:link-local 10.0.0.1:private; do
		addr=${a%%:*} && class=${a#*:} &&
		egress_curl $any http://$addr:8080/ || return 1
		grep -q "^forbidden_address: $addr is a $class address" out &&
		! grep -q " $addr 8080$" seen || return 1
	done &&
	for odd in 2130706434 0x7f000002 127.2; do
		egress_curl $any http://$odd:8080/ || return 1
		grep -q "^forbidden_address: 127.0.0.2 is a loopback address" out &&
		ask $any "{\"id\":1,\"host\":\"$odd\",\"port\":8080}" &&
		jq -e ".ok == false and .kind == \"bad_request\"" ans >/dev/null || return 1
	done &&
	! grep -q " 127.0.0.2 8080$" seen
'

mapped_refused_() {
	node_events egress.refused | jq -e -s "[.[] | select(.pod == \"$any\" and .address == \"::ffff:169.254.169.254\" and .address_class == \"link-local\")] | length == 1" >/dev/null
}

test_expect_success 'nor by a name that resolves there, nor through SOCKS5 as ::ffff:127.0.0.2, nor from a hostile proxy as ::ffff:169.254.169.254' '
	egress_curl $any http://meta.test:8080/ &&
	grep -q "^forbidden_address: meta.test resolves to 169.254.169.254, a link-local address" out &&
	egress_curl $any -x socks5h://127.0.0.1:3128 "http://[::ffff:127.0.0.2]:8080/" &&
	test "$status" = 97 &&
	ask $any "{\"id\":1,\"host\":\"[::ffff:169.254.169.254]\",\"port\":8080}" &&
	jq -e ".ok == false and .kind == \"forbidden_address\"" ans >/dev/null &&
	test_wait_for "the refusal recorded" 10 mapped_refused_ &&
	! grep -q " 127.0.0.2 8080$" seen &&
	! grep -q " 169.254.169.254 8080$" seen
'

test_expect_success 'names resolving to NAT64 and 6to4 forms of 169.254.169.254 are refused with that class, before any open record' '
	for n in nat64.test:64:ff9b::a9fe:a9fe sixtofour.test:2002:a9fe:a9fe::1; do
		name=${n%%:*} && addr=${n#*:} &&
		egress_curl $any http://$name:8080/ || return 1
		grep -q "^forbidden_address: $name resolves to $addr, a link-local address" out || return 1
	done &&
	node_events egress.open | jq -e -s "[.[] | select(.host == \"nat64.test\" or .host == \"sixtofour.test\")] | length == 0" >/dev/null
'

test_expect_success 'a name with a refused and an allowed address: only the allowed one is dialled' '
	egress_curl $any -f http://multi.test:8080/ &&
	test "$(cat out)" = "hello from 198.18.0.1:8080" &&
	node_events egress.open | jq -e -s "[.[] | select(.host == \"multi.test\")] | length == 1 and .[0].address == \"198.18.0.1\"" >/dev/null
'

test_expect_success 'a plain request'"'"'s Host is its URL'"'"'s, whatever (and however many) the client sent' '
	egress_curl $any -f -H "Host: evil.test" http://ok.test:8082/ &&
	test "$(cat out)" = "ok.test:8082" &&
	egress_curl $any -f -H "Host: evil.test" -H "hOST: evil2.test" http://ok.test:8082/x &&
	test "$(cat out)" = "ok.test:8082"
'

test_expect_success 'web_fetch among the obligations: the proxy asks a token of every connection, and so does the gateway of a hostile proxy' '
	egress_curl $obl http://ok.test:8080/ &&
	grep -q "^approval_required: a connection to ok.test port 8080 needs an approval token" out &&
	ask $obl "{\"id\":1,\"host\":\"ok.test\",\"port\":8080}" &&
	jq -e ".ok == false and .kind == \"approval_required\"" ans >/dev/null &&
	test "$(grep -c " 198.18.0.1 8080$" seen)" = 2
'

refused_count() {
	node_events egress.refused | jq -s "[.[] | select(.pod == \"$any\")] | length"
}

refused_() {
	test "$(refused_count)" -ge "$1"
}

test_expect_success 'a hostile proxy asking without end: every refusal answered, GATEWAY_REFUSALS_MAX (600) of them recorded in a minute' '
	python3 - n/pods/$any/egress.sock >flood <<-\PY &&
	import json, socket, sys
	s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
	s.connect(sys.argv[1])
	n = 0
	for i in range(1000):
	    s.send(b"{\"id\":1,\"host\":\"ok.test\",\"port\":8081}")
	    n += json.loads(s.recv(4096))["kind"] == "egress_denied"
	print(n)
	PY
	test "$(cat flood)" = 1000 &&
	ask $any "{\"id\":2,\"host\":\"198.18.0.1\",\"port\":8080}" &&
	jq -e ".ok == true" ans >/dev/null &&
	test_wait_for "the refusals recorded before that open" 10 refused_ 600 &&
	test "$(refused_count)" = 600
'

test_expect_success 'a hostile proxy handing the gateway what is no client'"'"'s TCP connection (a file, a pipe, a Unix socket, a listening one), or one without "handed": refused unread; a TCP client handed is told and relayed' '
	: >victim &&
	python3 - n/pods/$any/egress.sock >handed <<-\PY &&
	import array, json, os, socket, sys
	def ask(req, fd):
	    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
	    s.connect(sys.argv[1])
	    anc = [] if fd is None else [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
	        array.array("i", [fd]))]
	    s.sendmsg([json.dumps(req).encode()], anc)
	    a = json.loads(s.recv(4096))
	    s.close()
	    return "%s %s" % (a["ok"], a.get("kind"))
	req = {"id": 1, "host": "198.18.0.1", "port": 8080, "handed": "connect"}
	f = open("victim", "r+")
	r, w = os.pipe()
	u1, u2 = socket.socketpair()
	l = socket.socket()
	l.bind(("127.0.0.1", 0))
	l.listen()
	for name, fd in (("file", f.fileno()), ("pipe", w),
	                 ("unix", u1.fileno()), ("listening", l.fileno()),
	                 ("none", None)):
	    print(name, ask(req, fd))
	cl = socket.create_connection(l.getsockname())
	sv, _ = l.accept()
	print("unasked", ask({"id": 1, "host": "198.18.0.1", "port": 8080},
	                     sv.fileno()))
	print("smtp", ask(dict(req, handed="smtp"), sv.fileno()))
	print("tcp", ask(req, sv.fileno()))
	sv.close()
	cl.settimeout(10)
	cl.sendall(b"GET / HTTP/1.0\r\nHost: 198.18.0.1\r\n\r\n")
	got = b""
	while True:
	    b = cl.recv(4096)
	    if not b:
	        break
	    got += b
	print("told", repr(got.split(b"\r\n")[0]))
	print("body", got.split(b"\r\n\r\n")[-1].decode().strip())
	PY
	cat >expect <<-\EOF &&
	file False bad_request
	pipe False bad_request
	unix False bad_request
	listening False bad_request
	none False bad_request
	unasked False bad_request
	smtp False bad_request
	tcp True None
	told b'"'"'HTTP/1.1 200 Connection established'"'"'
	body hello from 198.18.0.1:8080
	EOF
	test_cmp expect handed &&
	test ! -s victim
'

opens_closed() {
	test "$(node_events egress.open | wc -l)" = "$(node_events egress.close | wc -l)"
}

test_expect_success 'every open record has its close; every log verifies; the node stops cleanly' '
	test_wait_for "a close record for each open one" 10 opens_closed &&
	nucleus-audit-verify -q -k node.pub n/audit.log n/pods/*/*.log &&
	node_stop
'

test_done
