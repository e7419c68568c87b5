#!/bin/sh
test_description='egress: the pod spec'"'"'s network member, checked at pod.create: each error names its member; network needs web_fetch; on every driver'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-pod.sh"
. "$TEST_DIRECTORY/lib-egress.sh"

if ! test_have_prereq ROOT; then
	test_skip_all "the node runs as root"
fi

# refused NETWORK-JSON MESSAGE-REGEX [POLICY-JSON] [MEMBERS]: pod.create
# answers bad_request with a message that matches.
refused() {
	printf '{"v":1,"name":"p-spec","policy":%s,"agents":["agent-1"],"network":%s%s}\n' \
	    "${3:-$egress_policy}" "$1" "${4:+,$4}" >spec.json &&
	test_expect_code 2 nucleus-node pod -j -k admin.key -l n/node.sock create spec.json >out 2>/dev/null &&
	jq -e --arg re "$2" ".error.kind == \"bad_request\" and (.error.message | test(\$re))" out >/dev/null || {
		cat out >&2
		return 1
	}
}

test_expect_success 'setup: a node' '
	node_setup &&
	node_start
'

test_expect_success 'an unknown member, of network or of an entry' '
	refused "{\"allow\":[],\"deny\":[]}" "^network: unknown member \"deny\"" &&
	refused "{\"allow\":[{\"host\":\"a.test\",\"ports\":[1],\"port\":2}]}" "^network.allow\\[0\\]: unknown member \"port\"" &&
	refused "[]" "^network: expected an object"
'

test_expect_success 'a bad host pattern, a bad cidr, both or neither' '
	for h in "a..test" "*a.test" "a.*.test" "-a.test" "a-.test" "a.test." "a test" "*." "" "198.18.0.1" "ä.test"; do
		refused "{\"allow\":[{\"host\":\"$h\",\"ports\":[443]}]}" "^network.allow\\[0\\].host: expected a host name" || return 1
	done &&
	for c in "10.0.0.1/8" "10.0.0.0/33" "10.0.0.0" "10.0.0.0/" "10.0.0.0/08" "x/8" "fe80::1/10"; do
		refused "{\"allow\":[{\"cidr\":\"$c\",\"ports\":[443]}]}" "^network.allow\\[0\\].cidr: expected an address and prefix length" || return 1
	done &&
	refused "{\"allow\":[{\"host\":\"a.test\",\"cidr\":\"10.0.0.0/8\",\"ports\":[443]}]}" "^network.allow\\[0\\]: expected one of" &&
	refused "{\"allow\":[{\"ports\":[443]}]}" "^network.allow\\[0\\]: expected one of"
'

test_expect_success 'a port out of range, no ports, too many ports, approval not a boolean' '
	refused "{\"allow\":[{\"host\":\"a.test\",\"ports\":[0]}]}" "^network.allow\\[0\\].ports\\[0\\]: expected a port from 1 to 65535" &&
	refused "{\"allow\":[{\"host\":\"a.test\",\"ports\":[443,65536]}]}" "^network.allow\\[0\\].ports\\[1\\]: expected a port" &&
	refused "{\"allow\":[{\"host\":\"a.test\"}]}" "^network.allow\\[0\\].ports: missing" &&
	refused "{\"allow\":[{\"host\":\"a.test\",\"ports\":[]}]}" "^network.allow\\[0\\].ports: expected 1 to 16 ports" &&
	refused "{\"allow\":[{\"host\":\"a.test\",\"ports\":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17]}]}" "^network.allow\\[0\\].ports: expected 1 to 16 ports" &&
	refused "{\"allow\":[{\"host\":\"a.test\",\"ports\":[1],\"approval\":1}]}" "^network.allow\\[0\\].approval: expected true or false"
'

test_expect_success 'NET_ALLOW_MAX entries (64), NET_CONNECTIONS_MAX (1024), a label of NET_LABEL_MAX (63)' '
	e="{\"host\":\"a.test\",\"ports\":[1]}" &&
	all=$e && i=1 &&
	while [ $i -lt 64 ]; do all="$all,$e" && i=$((i + 1)); done &&
	refused "{\"allow\":[$all,$e]}" "^network.allow: expected an array of at most 64 entries" &&
	refused "{\"allow\":[$all],\"max_connections\":1025}" "^network.max_connections: expected 1 to 1024" &&
	refused "{\"allow\":[$all],\"max_connections\":0}" "^network.max_connections: expected 1 to 1024" &&
	l63=$(printf "%063d" 0) &&
	refused "{\"allow\":[{\"host\":\"${l63}0.test\",\"ports\":[1]}]}" "^network.allow\\[0\\].host: expected a host name"
'

test_expect_success 'network under a policy whose web_fetch is never is refused, saying why' '
	refused "{\"allow\":[]}" "^network: the policy.s web_fetch is never, and egress needs it at least low_risk" "\"local_dev\""
'

test_expect_success 'network on a VM driver is checked as on the local driver, and never refused for the driver' '
	refused "{\"allow\":[],\"deny\":[]}" "^network: unknown member \"deny\"" "" "\"driver\":\"qemu\"" &&
	refused "{\"allow\":[{\"host\":\"a.test\"}]}" "^network.allow\\[0\\]" "" "\"driver\":\"firecracker\"" &&
	for d in qemu firecracker; do
		printf "{\"v\":1,\"name\":\"p-vm\",\"driver\":\"%s\",\"policy\":%s,\"agents\":[\"agent-1\"],\"network\":{\"allow\":[{\"host\":\"a.test\",\"ports\":[443]}]}}\n" \
		    $d "$egress_policy" >spec.json &&
		test_expect_code 2 nucleus-node pod -j -k admin.key -l n/node.sock create spec.json >out 2>/dev/null &&
		jq -e ".ok == false and (.error.message | test(\"network\") | not)" out >/dev/null || return 1
	done
'

test_expect_success 'the node stops cleanly (under SANITIZE, nothing reported: the gateways write to its standard error)' '
	node_stop
'

test_done
