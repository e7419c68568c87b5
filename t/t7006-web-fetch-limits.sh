#!/bin/sh
test_description='web_fetch limits: FETCHES_MAX fetches at once in a pod, one more unavailable (and recorded), and the place given back when one ends'
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
net=p-lnet-$suffix
test_cleanup() {
	curl -s -m 5 --noproxy "*" http://198.18.0.1:8090/release >/dev/null
	for f in server.pid fetch.pid; do
		[ -f $f ] && kill "$(cat $f)"
	done
	pods_gone "p-*-$suffix*"
}

web_start() {
	python3 "$TEST_DIRECTORY/helper/fetch-server.py" "$PWD/fetched" \
	    198.18.0.1:8090 2>fetch.err &
	echo $! >fetch.pid &&
	test_wait_for "the web server" 10 test -f fetched.ready
}

# FETCHES_MAX (4) fetches of /hold, in the background: their answers
# in held-N.
hold_fetches() {
	for i in 1 2 3 4; do
		call $net web_fetch '{"url":"http://ok.test:8090/hold"}' >held-$i &
	done
}

holding() {
	test "$(grep -c "^8090 GET /hold$" fetched)" = 4
}

held_answered() {
	for i in 1 2 3 4; do
		jq -e ".ok and .result.body == \"held\n\"" held-$i >/dev/null || return 1
	done
}

test_expect_success 'setup: a web server on ok.test:8090, a node, a pod that may reach it' '
	egress_hosts &&
	web_start &&
	node_setup &&
	node_start -H "$PWD/hosts" &&
	egress_pod $net "{\"allow\":[{\"host\":\"ok.test\",\"ports\":[8090]}]}"
'

test_expect_success 'FETCHES_MAX (4) fetches run at once; one more is unavailable, and recorded' '
	hold_fetches &&
	test_wait_for "four fetches held by the server" 20 holding &&
	test_expect_code 2 call $net web_fetch "{\"url\":\"http://ok.test:8090/hello\"}" >resp &&
	jq -e ".error.kind == \"unavailable\" and .error.message == \"4 fetches are running; the limit is 4\"" resp >/dev/null &&
	pod_log $net | jq -e -s "[.[] | select(.event == \"decision\" and .op == \"web_fetch\" and .decision == \"deny\" and .kind == \"unavailable\")] | length == 1" >/dev/null &&
	! grep -q "^8090 GET /hello$" fetched
'

test_expect_success 'once they end, each answered in full, a fetch runs again' '
	curl -sf -m 10 --noproxy "*" http://198.18.0.1:8090/release >/dev/null &&
	test_wait_for "the four answered in full" 20 held_answered &&
	call $net web_fetch "{\"url\":\"http://ok.test:8090/hello\"}" >resp &&
	jq -e ".ok and .result.body == \"hello from web_fetch\n\"" resp >/dev/null
'

test_expect_success 'every log verifies; the node stops cleanly' '
	nucleus-audit-verify -q -k node.pub n/audit.log n/pods/*/*.log &&
	node_stop
'

test_done
