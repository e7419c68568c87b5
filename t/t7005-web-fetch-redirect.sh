#!/bin/sh
test_description='web_fetch redirects: followed by hand, each hop a new connection decided, recorded and made by the gateway; a hop to a host or address the pod may not reach ends the fetch; at most FETCH_REDIRECTS_MAX'
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
net=p-rnet-$suffix
test_cleanup() {
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

# fetch URL: web_fetch as agent-1 in the pod; the response in resp.
# refused CODE URL: the same, refused; nucleus-node call exits CODE.
fetch() {
	call $net web_fetch "{\"url\":\"$1\"}" >resp
}
refused() {
	test_expect_code "$1" call $net web_fetch "{\"url\":\"$2\"}" >resp
}

# connects HOST PORT DECISION: how many connect decisions of the pod's
# log say so.
connects() {
	pod_log $net | jq -s "[.[] | select(.event == \"decision\" and .op == \"connect\" and .host == \"$1\" and .port == $2 and .decision == \"$3\")] | length"
}

test_expect_success 'setup: test hosts, a web server on ok.test:8090, a node, a pod that may reach ok.test and www.ok.test on 8090 and lo.test on 8080' '
	egress_hosts &&
	web_start &&
	node_setup &&
	node_start -H "$PWD/hosts" &&
	egress_pod $net "{\"allow\":[{\"host\":\"ok.test\",\"ports\":[8090]},{\"host\":\"www.ok.test\",\"ports\":[8090]},{\"host\":\"lo.test\",\"ports\":[8080]}]}"
'

test_expect_success 'a redirect to an allowed host is followed: a second connection, decided and recorded; the final URL and the hops said' '
	fetch "http://ok.test:8090/to/http://www.ok.test:8090/hello" &&
	jq -e ".ok and .result.status == 200 and .result.url == \"http://www.ok.test:8090/hello\" and .result.body == \"hello from web_fetch\n\" and .result.redirects == [\"http://ok.test:8090/to/http://www.ok.test:8090/hello\"]" resp >/dev/null &&
	test "$(connects ok.test 8090 allow)" = 1 &&
	test "$(connects www.ok.test 8090 allow)" = 1 &&
	node_events egress.open | jq -e -s "[.[] | select(.host == \"www.ok.test\" and .port == 8090)] | length == 1" >/dev/null
'

test_expect_success 'a redirect to a host the pod may not reach ends the fetch (egress_denied), the refused hop recorded, never made' '
	refused 1 "http://ok.test:8090/to/http://other.test:8080/" &&
	jq -e ".error.kind == \"egress_denied\" and (.error.message | test(\"other.test:8080\"))" resp >/dev/null &&
	test "$(connects other.test 8080 deny)" = 1 &&
	! grep -q " 198.18.0.2 " seen
'

test_expect_success 'a redirect to a name the list admits but whose address is refused (loopback): refused by the gateway, recorded, never made' '
	refused 1 "http://ok.test:8090/to/http://lo.test:8080/" &&
	jq -e ".error.kind == \"egress_denied\"" resp >/dev/null &&
	node_events egress.refused | jq -e -s "[.[] | select(.host == \"lo.test\" and .address == \"127.0.0.2\" and .address_class == \"loopback\")] | length == 1" >/dev/null &&
	! grep -q " 127.0.0.2 " seen
'

test_expect_success 'a redirect to a scheme other than http or https is not followed' '
	refused 1 "http://ok.test:8090/to/file:///etc/passwd" &&
	jq -e ".error.kind == \"egress_denied\" and (.error.message | test(\"not an http or https URL\"))" resp >/dev/null
'

test_expect_success 'FETCH_REDIRECTS_MAX (5): five redirects are followed, a sixth is not' '
	fetch "http://ok.test:8090/chain/5" &&
	jq -e ".ok and .result.body == \"end\n\" and (.result.redirects | length) == 5 and .result.url == \"http://ok.test:8090/chain/0\"" resp >/dev/null &&
	refused 2 "http://ok.test:8090/chain/6" &&
	jq -e ".error.kind == \"io_error\" and (.error.message | test(\"more than 5 redirects\"))" resp >/dev/null &&
	grep -q "^8090 GET /chain/1$" fetched &&
	test "$(grep -c "^8090 GET /chain/" fetched)" = 12
'

test_expect_success 'every log verifies; the node stops cleanly' '
	nucleus-audit-verify -q -k node.pub n/audit.log n/pods/*/*.log &&
	node_stop
'

test_done
