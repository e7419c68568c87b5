#!/bin/sh
test_description='egress: connections_per_minute, max_bytes and idle_s of the network member, their bounds, each crossed'
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
rate=p-rate-$suffix
bytes=p-bytes-$suffix
idle=p-idle-$suffix
test_cleanup() {
	[ -f server.pid ] && kill "$(cat server.pid)"
	[ -f ask.pid ] && kill "$(cat ask.pid)"
	pods_gone "p-*-$suffix*"
}

ok='{"host":"ok.test","ports":[8080]}'

# refused NETWORK-JSON MEMBER: pod.create refuses it, bad_request naming
# the member.
refused() {
	printf '{"v":1,"name":"p-bad-%s","policy":%s,"agents":["agent-1"],"network":%s}\n' \
	    "$suffix" "$egress_policy" "$1" >spec-bad.json &&
	test_expect_code 2 nucleus-node pod -j -k admin.key -l n/node.sock create spec-bad.json >bad.out 2>/dev/null &&
	jq -e ".error.kind == \"bad_request\" and (.error.message | startswith(\"network.$2: expected \"))" bad.out >/dev/null || {
		cat bad.out >&2
		return 1
	}
}

closes() {
	node_events egress.close | jq -s "[.[] | select(.pod == \"$1\")]"
}

test_expect_success 'setup: test hosts, a node' '
	egress_hosts &&
	node_setup &&
	node_start -H "$PWD/hosts"
'

test_expect_success 'bounds: connections_per_minute 1 to 6000, max_bytes 1 to 2^40, idle_s 1 to 300 (NET_RATE_MAX, NET_BYTES_MAX, NET_IDLE_MAX)' '
	refused "{\"allow\":[$ok],\"connections_per_minute\":0}" connections_per_minute &&
	refused "{\"allow\":[$ok],\"connections_per_minute\":6001}" connections_per_minute &&
	refused "{\"allow\":[$ok],\"connections_per_minute\":\"9\"}" connections_per_minute &&
	refused "{\"allow\":[$ok],\"max_bytes\":0}" max_bytes &&
	refused "{\"allow\":[$ok],\"max_bytes\":1099511627777}" max_bytes &&
	refused "{\"allow\":[$ok],\"idle_s\":0}" idle_s &&
	refused "{\"allow\":[$ok],\"idle_s\":301}" idle_s &&
	egress_pod p-max-$suffix "{\"allow\":[$ok],\"connections_per_minute\":6000,\"max_bytes\":1099511627776,\"idle_s\":300}"
'

test_expect_success 'connections_per_minute crossed: 2 go, the third is refused 403 rate_limited (SOCKS5 too), recorded' '
	egress_pod $rate "{\"allow\":[$ok],\"connections_per_minute\":2}" &&
	egress_curl $rate -f http://ok.test:8080/ &&
	egress_curl $rate -f http://ok.test:8080/ &&
	test "$(cat out)" = "hello from 198.18.0.1:8080" &&
	egress_curl $rate -w "%{http_code}" http://ok.test:8080/ &&
	grep -q "^rate_limited: the pod opened 2 connections in the last minute, its network.connections_per_minute" out &&
	grep -q "^403$" out &&
	egress_curl $rate -x socks5h://127.0.0.1:3128 http://ok.test:8080/ &&
	test "$status" = 97 &&
	node_events egress.refused | jq -e -s "[.[] | select(.pod == \"$rate\" and .kind == \"rate_limited\")] | length == 2" >/dev/null &&
	node_events egress.open | jq -e -s "[.[] | select(.pod == \"$rate\")] | length == 2" >/dev/null
'

one_() {
	test "$(closes $bytes | jq length)" = "$1"
}

test_expect_success 'max_bytes crossed: the stream that crosses it is cut (egress.close how bytes_limit), then every connection is refused 403 bytes_limit' '
	egress_pod $bytes "{\"allow\":[$ok],\"max_bytes\":300}" &&
	egress_curl $bytes -f http://ok.test:8080/ &&
	test "$(cat out)" = "hello from 198.18.0.1:8080" &&
	test_wait_for "the first close" 10 one_ 1 &&
	closes $bytes | jq -e ".[0].how == \"eof\" and .[0].bytes_in + .[0].bytes_out > 150" >/dev/null &&
	egress_curl $bytes http://ok.test:8080/ &&
	! grep -q "^hello" out &&
	test_wait_for "the second close" 10 one_ 2 &&
	closes $bytes | jq -e "[.[] | select(.how == \"bytes_limit\")] | length == 1" >/dev/null &&
	closes $bytes | jq -e "[.[] | .bytes_in + .bytes_out] | add <= 300" >/dev/null &&
	egress_curl $bytes -w "%{http_code}" http://ok.test:8080/ &&
	grep -q "^bytes_limit: the pod.s connections have carried its network.max_bytes, 300 bytes" out &&
	grep -q "^403$" out &&
	node_events egress.refused | jq -e -s "[.[] | select(.pod == \"$bytes\" and .kind == \"bytes_limit\")] | length == 1" >/dev/null
'

# hold_start POD: a connection asked of the gateway directly and held
# open, carrying nothing, until the asker (ask.pid) is killed.
hold_start() {
	python3 "$TEST_DIRECTORY/helper/egress-ask.py" n/pods/$1/egress.sock \
	    "{\"id\":1,\"host\":\"ok.test\",\"port\":8080}" --hold ask.pid >held &
}

idled_() {
	closes $idle | jq -e "[.[] | select(.how == \"idle\")] | length == 1" >/dev/null
}

test_expect_success 'idle_s crossed: a connection that carries nothing for idle_s (1 s) is closed, egress.close how idle' '
	egress_pod $idle "{\"allow\":[$ok],\"idle_s\":1}" &&
	hold_start $idle &&
	test_wait_for "the idle close" 15 idled_ &&
	closes $idle | jq -e ".[0].duration_ms >= 1000 and .[0].bytes_in == 0 and .[0].bytes_out == 0" >/dev/null
'

test_expect_success 'every log verifies; the node stops cleanly' '
	nucleus-audit-verify -q -k node.pub n/audit.log n/pods/*/*.log &&
	node_stop
'

test_done
