#!/bin/sh
test_description='egress: without a hosts file the gateway resolves through the host'"'"'s resolver, off its loop, names a host entry admits alone: a slow name delays no other, GATEWAY_RESOLVE_MS and GATEWAY_LOOKUPS_MAX crossed, a name that does not resolve refused and recorded'
. "$(dirname "$0")/lib-egress.sh"
# A network namespace, and a mount namespace in which /etc/resolv.conf
# names the test's DNS server.
if [ -z "$NUCLEUS_EGRESS_NETNS" ] && [ "$(id -u)" = 0 ] &&
    unshare -n -m true 2>/dev/null; then
	NUCLEUS_EGRESS_NETNS=1
	export NUCLEUS_EGRESS_NETNS
	exec unshare -n -m "$0" "$@"
fi
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-pod.sh"
. "$TEST_DIRECTORY/lib-egress.sh"

if ! test_have_prereq ROOT; then
	test_skip_all "the local driver needs root (namespaces and cgroups)"
fi
if [ -z "$NUCLEUS_EGRESS_NETNS" ]; then
	test_skip_all "no network and mount namespaces of its own (unshare -n -m)"
fi

suffix=$(od -An -N4 -tx1 /dev/urandom | tr -d " \n")
pod=p-dns-$suffix
test_cleanup() {
	for f in server.pid dns.pid slow.pid; do
		[ -f $f ] && kill "$(cat $f)"
	done
	pods_gone "p-*-$suffix*"
}

dns_start() {
	python3 "$TEST_DIRECTORY/helper/dns-server.py" "$PWD/queries" 198.18.0.53 \
	    fast.test=198.18.0.1 slow.test=slow lo.test=127.0.0.2 \
	    gate.test=hold:198.18.0.1 2>dns.err &
	echo $! >dns.pid
}

# slow_start: a curl in the pod for slow.test, in the background, its
# output in slow.out.
slow_start() {
	call $pod run "{\"argv\":[\"curl\",\"-sS\",\"-m\",\"30\",\"http://slow.test:8080/\"]}" >slow.out &
	echo $! >slow.pid
}

queried_() {
	grep -q "^$1 " queries
}

refused_() {
	node_events egress.refused | jq -e -s "[.[] | select(.pod == \"$pod\" and .host == \"$1\" and .kind == \"unresolved\" and (.reason | test(\"$2\")))] | length == ${3:-1}" >/dev/null
}

test_expect_success 'setup: test hosts, a DNS server on 198.18.0.53 that /etc/resolv.conf names, a node without -H' '
	egress_hosts &&
	ip addr add 198.18.0.53/32 dev lo &&
	dns_start &&
	test_wait_for "the DNS server" 10 test -f queries.ready &&
	printf "nameserver 198.18.0.53\noptions timeout:30 attempts:1\n" >resolv.conf &&
	mount --bind resolv.conf /etc/resolv.conf &&
	printf "127.0.0.1\tlocalhost\n198.18.0.2\tetc.test\n" >etc-hosts &&
	mount --bind etc-hosts /etc/hosts &&
	node_setup &&
	node_start &&
	egress_pod $pod "{\"allow\":[{\"host\":\"fast.test\",\"ports\":[8080]},{\"host\":\"*.slow.test\",\"ports\":[8080]},{\"host\":\"slow.test\",\"ports\":[8080]},{\"host\":\"nx.test\",\"ports\":[8080]},{\"host\":\"lo.test\",\"ports\":[8080]},{\"host\":\"etc.test\",\"ports\":[8080]}],\"max_connections\":100}"
'

test_expect_success 'a name resolves through the DNS server, one in /etc/hosts from it; one to a refused class is still refused' '
	egress_curl $pod -f http://fast.test:8080/ &&
	test "$(cat out)" = "hello from 198.18.0.1:8080" &&
	queried_ fast.test &&
	egress_curl $pod -f http://etc.test:8080/ &&
	test "$(cat out)" = "hello from 198.18.0.2:8080" &&
	! queried_ etc.test &&
	egress_curl $pod http://lo.test:8080/ &&
	grep -q "^forbidden_address: lo.test resolves to 127.0.0.2, a loopback address" out
'

test_expect_success 'a name only a cidr entry could admit is resolved from /etc/hosts alone: no DNS query carries it' '
	egress_pod p-dnsc-$suffix "{\"allow\":[{\"cidr\":\"198.18.0.0/15\",\"ports\":[8080]}]}" &&
	egress_curl p-dnsc-$suffix -f http://etc.test:8080/ &&
	test "$(cat out)" = "hello from 198.18.0.2:8080" &&
	egress_curl p-dnsc-$suffix http://leak-4a6f.test:8080/ &&
	grep -q "^unresolved: leak-4a6f.test does not resolve from the hosts file (a name no host entry admits is not asked of DNS)" out &&
	! queried_ leak-4a6f.test
'

test_expect_success 'a slow name delays no other; past GATEWAY_RESOLVE_MS (5 s) it is refused unresolved, recorded' '
	slow_start &&
	test_wait_for "the slow query" 10 queried_ slow.test &&
	egress_curl $pod -f http://fast.test:8080/ &&
	test "$(cat out)" = "hello from 198.18.0.1:8080" &&
	! refused_ slow.test GATEWAY_RESOLVE_MS &&
	test_wait_for "the slow name given up" 20 refused_ slow.test "slow.test did not resolve within GATEWAY_RESOLVE_MS" &&
	wait "$(cat slow.pid)" &&
	rm slow.pid &&
	jq -r .result.stdout slow.out | grep -q "^unresolved: slow.test did not resolve within GATEWAY_RESOLVE_MS"
'

test_expect_success 'a name that does not resolve: 502 unresolved, recorded' '
	egress_curl $pod -w "%{http_code}" http://nx.test:8080/ &&
	grep -q "^unresolved: nx.test does not resolve" out &&
	grep -q "^502$" out &&
	refused_ nx.test "nx.test does not resolve"
'

# gated_: two lookups of gate.test asked (A and AAAA of each).
gated_() {
	test "$(grep -c "^gate.test 1$" queries)" = 2
}

test_expect_success 'connections_per_minute holds for names resolved at once: of two asked while gate.test resolves, one goes, one is refused rate_limited' '
	egress_pod p-dns3-$suffix "{\"allow\":[{\"host\":\"gate.test\",\"ports\":[8080]}],\"connections_per_minute\":1}" &&
	python3 -c "
import json, os, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
for i in range(2):
    s.send(json.dumps({\"id\": i, \"host\": \"gate.test\", \"port\": 8080}).encode())
deadline = time.monotonic() + 10
while [l.split()[0] for l in open(\"queries\")].count(\"gate.test\") < 4 and time.monotonic() < deadline:
    time.sleep(0.05)
open(\"queries.release\", \"w\").close()
s.settimeout(20)
for i in range(2):
    a = json.loads(s.recv(4096))
    print(a[\"id\"], a[\"ok\"], a.get(\"kind\", \"-\"))
" n/pods/p-dns3-$suffix/egress.sock >gate &&
	cut -d" " -f2- gate | sort >got &&
	printf "False rate_limited\nTrue -\n" >expect &&
	test_cmp expect got &&
	gated_
'

test_expect_success 'a connection waiting on the gateway when it dies is told 503, and so is the next; the pod runs on' '
	: >queries &&
	slow_start &&
	test_wait_for "the slow query" 10 queried_ slow.test &&
	kill -KILL "$(pgrep -f "^$NUCLEUS_BUILD/nucleus-gateway -p $pod ")" &&
	wait "$(cat slow.pid)" &&
	rm slow.pid &&
	jq -r .result.stdout slow.out | grep -q "^unavailable: the host.s gateway is gone" &&
	egress_curl $pod -w "%{http_code}" http://fast.test:8080/ &&
	grep -q "^unavailable: the host.s gateway is gone" out &&
	grep -q "^503$" out
'

test_expect_success 'GATEWAY_LOOKUPS_MAX (64): with 64 lookups under way, the next is refused at once (a pod of its own: a gateway whose threads are free)' '
	egress_pod p-dns2-$suffix "{\"allow\":[{\"host\":\"*.slow.test\",\"ports\":[8080]}],\"max_connections\":100}" &&
	python3 -c "
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
for i in range(65):
    s.send(json.dumps({\"id\": i, \"host\": \"a%d.slow.test\" % i, \"port\": 8080}).encode())
s.settimeout(30)
a = json.loads(s.recv(4096))
print(a[\"id\"], a[\"kind\"], a[\"reason\"])
" n/pods/p-dns2-$suffix/egress.sock >first &&
	echo "64 unresolved the gateway has GATEWAY_LOOKUPS_MAX lookups under way" >expect &&
	test_cmp expect first
'

test_expect_success 'every log verifies; the node stops cleanly' '
	nucleus-audit-verify -q -k node.pub n/audit.log n/pods/*/*.log &&
	node_stop
'

test_done
