#!/bin/sh
test_description='nucleus-node: a pod'"'"'s log space given back once its copy holds it; a pod whose log has stopped says so in pod.status, and the node answers for it'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-authority.sh"
. "$TEST_DIRECTORY/lib-node.sh"

if ! test_have_prereq ROOT; then
	test_skip_all "the local driver needs root (namespaces and cgroups)"
fi

pod_status() {
	nucleus-node pod -j -k admin.key -l n/node.sock status "$1"
}

test_expect_success 'setup: two pods' '
	authority_setup &&
	node_setup &&
	node_start &&
	pod_create p-1 >out &&
	pod_create p-2 >out &&
	ncall p-1 write "{\"path\":\"f\",\"content\":\"x\"}" >out &&
	pod_status p-1 >st &&
	jq -e ".result.state == \"running\" and (.result | has(\"audit_stopped\") | not)" st &&
	jq -r .result.audit_copy st >copy1
'

# The state tmpfs of POD's proxy, all but FREE MiB of it taken.
state_fill() {
	pid=$(pod_proxy "$1") &&
	used=$(nsenter -t $pid -U -m df -m --output=used /var/lib/nucleus 2>/dev/null | tail -n 1) &&
	nsenter -t $pid -U -m dd if=/dev/zero of=/var/lib/nucleus/fill bs=1M count=$((64 - $2 - used)) 2>/dev/null
}

state_used_kib() {
	nsenter -t "$(pod_proxy "$1")" -U -m df -k --output=used /var/lib/nucleus 2>/dev/null | tail -n 1
}

test_expect_success 'given back: 200 runs of 60 KiB records through 5 MiB of free state, the copy one chain' '
	pod_create p-3 >out &&
	jq -r .result.audit_copy out >copy3 &&
	state_fill p-3 5 &&
	before=$(state_used_kib p-3) &&
	pad=$(head -c 61440 /dev/zero | tr "\0" a) &&
	for b in $(seq 1 25); do
		for i in 1 2 3 4 5 6 7 8; do
			nreq "r$b-$i" agent-7 agent.key p-3 run "{\"argv\":[\"true\",\"$pad\"],\"timeout\":1}" || return 1
		done | nsend >out &&
		test $(jq -c "select(.ok)" out | wc -l) -eq 8 || {
			grep -v aaaaaaaa out | head -n 3 >&2; return 1
		}
	done &&
	test $(( $(state_used_kib p-3) - before )) -lt 4096 &&
	test $(jq -c "select(.event == \"decision\" and .op == \"run\" and (.subject[1] | length) == 61440)" "$(cat copy3)" | wc -l) -eq 200 &&
	nucleus-audit-verify -q -k node.pub "$(cat copy3)"
'

test_expect_success 'refusals past limits.refusals through the node: short records back their answers, the pod runs on' '
	for i in $(seq 1 64); do
		nreq "d$i" agent-7 agent.key p-3 run "{\"argv\":[\"sh\",\"-c\",\"x\"]}" || return 1
	done | nsend >out &&
	test $(jq -c "select(.error.kind == \"command_denied\")" out | wc -l) -eq 60 &&
	test $(jq -c "select(.error.kind == \"unavailable\" and (.error.message | test(\"more than 60 requests of agent-7\")))" out | wc -l) -eq 4 &&
	test $(jq -c "select(.event == \"decision\" and .counted == \"command_denied\")" "$(cat copy3)" | wc -l) -eq 4 &&
	pod_status p-3 | jq -e ".result.state == \"running\"" &&
	! node_has_event_ ".event == \"pod.audit_fault\""
'

test_expect_success 'the proxy'"'"'s state tmpfs full: its log stops' '
	pid=$(pod_proxy p-1) &&
	# The host fills the pod'"'"'s state tmpfs (/var/lib/nucleus) to its last byte.
	test_must_fail nsenter -t $pid -U -m dd if=/dev/zero of=/var/lib/nucleus/fill bs=1M count=128 2>/dev/null &&
	# A record longer than the page the log'"'"'s last line left.
	pad=$(head -c 8192 /dev/zero | tr "\0" a) &&
	test_expect_code 2 ncall p-1 run "{\"argv\":[\"echo\",\"$pad\"]}" >out &&
	jq -e ".error.kind == \"unavailable\" and (.error.message | test(\"audit log has stopped\"))" out
'

test_expect_success 'pod.status says the log stopped, and why' '
	test_wait_for "pod.status to say log_stopped" 10 \
	    sh -c "nucleus-node pod -j -k admin.key -l n/node.sock status p-1 | jq -e \".result.state == \\\"log_stopped\\\"\"" &&
	pod_status p-1 >st &&
	jq -e ".result.audit_stopped | test(\"No space left on device\")" st &&
	node_wait_event ".event == \"pod.audit_stopped\" and .pod == \"p-1\" and (.message | test(\"No space\"))"
'

test_expect_success 'the node answers for it: unavailable, with a clear message' '
	test_expect_code 2 ncall p-1 read "{\"path\":\"f\"}" >out &&
	jq -e ".error.kind == \"unavailable\" and (.error.message | test(\"audit log has stopped.*pod.status\"))" out &&
	# its unrecorded answers came late, and are no fault of its copy
	! node_has_event_ ".event == \"pod.audit_fault\""
'

test_expect_success 'another pod is served, and pod.stop ends the stopped one' '
	ncall p-2 stat "{\"path\":\".\"}" >out &&
	jq -e ".ok" out &&
	nucleus-node pod -j -k admin.key -l n/node.sock stop p-1 >out &&
	node_wait_event ".event == \"pod.exit\" and .pod == \"p-1\"" &&
	nucleus-audit-verify -q -k node.pub "$(pod_status p-2 | jq -r .result.audit_copy)" &&
	nucleus-audit-verify -q -k node.pub "$(cat copy1)"
'

test_expect_success 'stop' '
	node_stop
'

test_done
