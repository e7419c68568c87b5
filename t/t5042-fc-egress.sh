#!/bin/sh
test_description='egress on the Firecracker driver, the node'"'"'s side (Firecracker cannot run here): one connection per stream on <vm>/fc.sock_<port>, as Firecracker makes them, asked of a real gateway (a local pod'"'"'s), relayed; refusals answered, broken rules closed and recorded, a request line not come within FC_EGRESS_LINE_MS among them'
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

pod=p-fcnet-$$
test_cleanup() {
	[ -f server.pid ] && kill "$(cat server.pid)"
	[ -f fc.pid ] && kill "$(cat fc.pid)"
	[ -f fc2.pid ] && kill "$(cat fc2.pid)" 2>/dev/null
	[ -f slow.pid ] && kill "$(cat slow.pid)"
	pods_gone "$pod*"
}

guest() {
	python3 "$TEST_DIRECTORY/helper/fc-guest.py" v.sock_1026 "$@"
}

# slow_start: a second node side (fc-egress, its records in records2)
# and a guest that sends half a request line and no more; once the node
# closes it, the milliseconds since it connected are in slow.ms.
slow_start() {
	{ fc-egress n/pods/$pod/egress.sock v2.sock_1026 $pod >records2 2>fc2.err & } &&
	echo $! >fc2.pid &&
	test_wait_for "the second node side to listen" 10 test -S v2.sock_1026 &&
	{ python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
t0 = time.monotonic()
s.sendall(b"{\"host\":\"ok.test\",")
while s.recv(4096):
    pass
open(sys.argv[2] + ".tmp", "w").write("%d\n" % ((time.monotonic() - t0) * 1000))
' v2.sock_1026 slow.ms && mv slow.ms.tmp slow.ms; } &
	echo $! >slow.pid
}

test_expect_success 'setup: test hosts, a node, a pod with network whose gateway the node'"'"'s Firecracker side (fc-egress) asks' '
	egress_hosts &&
	node_setup &&
	node_start -H "$PWD/hosts" &&
	egress_pod $pod "{\"allow\":[{\"host\":\"ok.test\",\"ports\":[8080]}]}" &&
	{ fc-egress n/pods/$pod/egress.sock v.sock_1026 $pod >records 2>fc.err & } &&
	echo $! >fc.pid &&
	test_wait_for "the node side to listen" 10 test -S v.sock_1026 &&
	slow_start
'

test_expect_success 'a stream to an allowed host: the answer line, then the connection is the stream' '
	guest get ok.test 8080 >out &&
	echo "get HTTP/1.0 200 OK hello from 198.18.0.1:8080" >expect &&
	test_cmp expect out &&
	grep -q " 198.18.0.1 8080$" seen
'

test_expect_success 'a host the spec does not allow: refused by the gateway, never reached' '
	guest get other.test 8080 >out &&
	echo "get refused egress_denied" >expect &&
	test_cmp expect out &&
	! grep -q " 198.18.0.2 " seen
'

test_expect_success 'a line that is not JSON, a line over MUX_MSG_MAX, bytes before the answer: closed, each recorded' '
	guest notjson long early ok.test 8080 >out &&
	printf "notjson bad_request\nlong eof\nearly eof\n" >expect &&
	test_cmp expect out &&
	jq -s -c "[.[] | select(.event == \"egress.violation\" and .pod == \"$pod\") | .reason]" records >v &&
	echo "[\"a request that is not a JSON object\",\"a request line over MUX_MSG_MAX bytes\",\"bytes before the answer\"]" >expect &&
	test_cmp expect v
'

test_expect_success 'more connections than FC_EGRESS_STREAMS_MAX at once: the one past it closed, recorded' '
	guest many 257 >out &&
	echo "many 256 1" >expect &&
	test_cmp expect out &&
	jq -e -s "[.[] | select(.reason == \"more streams than FC_EGRESS_STREAMS_MAX at once\")] | length == 1" records
'

test_expect_success 'the node side still serves; the gateway recorded the stream; logs verify' '
	guest get ok.test 8080 >out &&
	grep -q "^get HTTP/1.0 200 OK" out &&
	node_events egress.open | jq -e -s "length == 2" >/dev/null &&
	nucleus-audit-verify -q -k node.pub n/audit.log
'

test_expect_success 'half a request line and no more: closed no sooner than FC_EGRESS_LINE_MS after it came, recorded' '
	test_wait_for "the half line to be closed" 30 test -s slow.ms &&
	rm -f slow.pid &&
	test "$(cat slow.ms)" -ge 10000 &&
	jq -s -c "[.[] | select(.event == \"egress.violation\") | [.stream, .reason]]" records2 >v &&
	echo "[[1,\"no request line within FC_EGRESS_LINE_MS\"]]" >expect &&
	test_cmp expect v
'

test_expect_success 'past FC_EGRESS_VIOLATIONS_MAX broken rules the socket is closed: no more streams, no more records' '
	guest flood 100 >out &&
	echo "flood 61 refused" >expect &&
	test_cmp expect out &&
	! test -e v.sock_1026 &&
	jq -s -c "[.[] | select(.event == \"egress.violation\")] | length, .[-1].closed, .[-1].reason" records >v &&
	printf "65\n\"channel\"\n\"more broken rules than FC_EGRESS_VIOLATIONS_MAX\"\n" >expect &&
	test_cmp expect v &&
	node_stop
'

test_done
