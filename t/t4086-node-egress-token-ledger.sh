#!/bin/sh
test_description='node: a connect token a pod'"'"'s gateway took is spent in the node'"'"'s ledger, so a new gateway (the pod made again, the node restarted) does not take it twice'
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
pod=p-led-$suffix
test_cleanup() {
	[ -f server.pid ] && kill "$(cat server.pid)"
	pods_gone "p-*-$suffix*"
}

# token DIGEST: a token of the vectors' authority for op connect.
token() {
	now=$(date +%s) &&
	printf '{"type":"approval","v":1,"kid":"authority-1","id":"a-%s","pod":"%s","op":"connect","args_digest":"%s","sub":"agent-1","iat":%s,"exp":%s,"nonce":"%s"}' \
	    "$suffix" "$pod" "$1" "$now" $((now + 120)) \
	    "$(od -An -N16 -tx1 /dev/urandom | tr -d " \n")" |
	    audit-tool sign approval authority.secret
}

# ask ID TOKEN-FILE: the pod's gateway asked for push.test:8080 as a
# hostile proxy would, with that token.
ask() {
	python3 "$TEST_DIRECTORY/helper/egress-ask.py" n/pods/$pod/egress.sock \
	    "{\"id\":$1,\"host\":\"push.test\",\"port\":8080,\"token\":$(cat "$2")}" >ans
}

# pod_stopped N: the pod is stopped, and ended for the Nth time (its
# pod.exit recorded): a pod stop is answered "stopping", and a node
# killed before the end is recorded finds the pod lost.
exits_() {
	test "$(node_events pod.exit | jq -s "[.[] | select(.pod == \"$pod\")] | length")" = "$1"
}
pod_stopped() {
	nucleus-node pod -j -k admin.key -l n/node.sock stop $pod >/dev/null &&
	test_wait_for "the pod to end" 10 exits_ "$1"
}

node_gone_() {
	! kill -0 "$(cat node.pid)" 2>/dev/null
}

network='{"allow":[{"host":"push.test","ports":[8080],"approval":true}]}'

test_expect_success 'setup: test hosts, a node, a pod with an approval entry, a token taken once' '
	egress_hosts &&
	cp "$TEST_DIRECTORY/vectors/authority.secret" authority.secret &&
	chmod 600 authority.secret &&
	node_setup &&
	node_start -H "$PWD/hosts" &&
	egress_pod $pod "$network" &&
	printf "{\"host\":\"push.test\",\"port\":8080}" >args &&
	python3 -c "import hashlib; print(hashlib.blake2b(open(\"args\",\"rb\").read(), digest_size=32).hexdigest())" >digest &&
	token "$(cat digest)" >tok &&
	ask 1 tok &&
	jq -e ".ok == true" ans >/dev/null &&
	node_events egress.open | jq -e -s "[.[] | select(.pod == \"$pod\" and .approval.id == \"a-$suffix\" and .approval.nonce == \"$(jq -r .nonce tok)\")] | length == 1" >/dev/null
'

test_expect_success 'the pod made again under its name: its new gateway is refused the token by the node' '
	pod_stopped 1 &&
	egress_pod $pod "$network" &&
	ask 2 tok &&
	jq -e ".ok == false and .kind == \"invalid_approval\" and (.reason | test(\"rule 7: the token was already used on this node\"))" ans >/dev/null &&
	node_events egress.refused | jq -e -s "[.[] | select(.pod == \"$pod\" and .kind == \"invalid_approval\")] | length == 1" >/dev/null &&
	test "$(grep -c " 198.18.0.2 8080$" seen)" = 1
'

test_expect_success 'the node killed and started again, the pod made again: still refused; a fresh token goes' '
	pod_stopped 2 &&
	kill -KILL "$(cat node.pid)" &&
	test_wait_for "the node to end" 10 node_gone_ &&
	node_start -H "$PWD/hosts" &&
	egress_pod $pod "$network" &&
	ask 3 tok &&
	jq -e ".ok == false and .kind == \"invalid_approval\"" ans >/dev/null &&
	token "$(cat digest)" >tok2 &&
	ask 4 tok2 &&
	jq -e ".ok == true" ans >/dev/null &&
	node_stop &&
	nucleus-audit-verify -q -k node.pub n/audit.log
'

test_done
