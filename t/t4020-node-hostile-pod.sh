#!/bin/sh
test_description='nucleus-node: a pod whose audit lines do not reach the node intact (changed, late, not JSON, too long) is stopped, its waiting clients told, the fault recorded, and its host copy keeps only what verifies'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-authority.sh"
. "$TEST_DIRECTORY/lib-node.sh"

if ! test_have_prereq ROOT; then
	test_skip_all "the local driver needs root (namespaces and cgroups)"
fi

# A pod behind pod-tamper in MODE: a write through it fails, the pod is
# stopped, the fault recorded (how many records were durable then), and
# all its copy holds verifies.
hostile() {
	echo "$1" >"$(cat tamperdir)/pod-tamper.conf" &&
	pod_create "p-$1" >out &&
	jq -r .result.audit_copy out >"copy-$1" &&
	test_expect_code 2 ncall "p-$1" write "{\"path\":\"a\",\"content\":\"x\"}" >out &&
	jq -e ".error.kind == \"unavailable\" and (.error.message | test(\"audit copy failed\"))" out &&
	node_wait_event ".event == \"pod.exit\" and .pod == \"p-$1\"" &&
	jq -s -c "[.[] | select(.event == \"pod.audit_fault\" and .pod == \"p-$1\")]" n/audit.log >fault &&
	jq -e "length == 1" fault &&
	nucleus-audit-verify -q -k node.pub "$(cat "copy-$1")" &&
	test "$(jq ".[0].records" fault)" -le "$(wc -l <"$(cat "copy-$1")")"
}

test_expect_success 'setup: a node whose pods run behind pod-tamper' '
	authority_setup &&
	node_setup &&
	# Outside /work and /tmp, which the sandbox mounts over.
	mktemp -d /var/tmp/nucleus-t4020.XXXXXX >tamperdir &&
	chmod 755 "$(cat tamperdir)" &&
	cp "$NUCLEUS_BUILD/nucleus-proxy" "$(cat tamperdir)/" &&
	node_start -P "$NUCLEUS_BUILD/t/helper/pod-tamper" -B "$(cat tamperdir)"
'

test_expect_success 'an honest pod behind it works' '
	echo none >"$(cat tamperdir)/pod-tamper.conf" &&
	pod_create p-ok >/dev/null &&
	ncall p-ok write "{\"path\":\"a\",\"content\":\"x\"}" >out &&
	jq -e .ok out
'

test_expect_success 'a changed audit line: the pod is stopped, the copy ends before it' '
	hostile flip &&
	jq -e ".[0].message | test(\"^record 3: \")" fault &&
	test "$(wc -l <"$(cat copy-flip)")" = 2
'

test_expect_success 'an answer ahead of its record: the pod is stopped' '
	hostile early &&
	jq -e ".[0].message | test(\"answered before its audit record\")" fault
'

test_expect_success 'a line that is not JSON: the pod is stopped' '
	hostile junk &&
	jq -e ".[0].message | test(\"not JSON\")" fault
'

test_expect_success 'a line over 80 MiB: the pod is stopped, the node holds none of it' '
	hostile overlong &&
	jq -e ".[0].message | test(\"longer than the node takes\")" fault &&
	ncall p-ok stat "{\"path\":\"a\"}" >out &&
	jq -e .ok out
'

# liar LOG: a pod p-liar whose "proxy" says hello naming LOG.  It is
# refused, the refusal recorded, and the node sends it no key-cert (the
# liar would say so on its standard error, which is proxy.err).
liar() {
	echo "hello p-liar $1" >"$(cat tamperdir)/pod-tamper.conf" &&
	test_expect_code 2 pod_create p-liar >out &&
	jq -e ".error.kind == \"internal\" and (.error.message | test(\"names log $1, not the one the node chose\"))" out &&
	jq -s -e "[.[] | select(.event == \"pod.refused\" and .pod == \"p-liar\")] | last | .message | test(\"no key-cert\")" n/audit.log &&
	! grep -q "key-cert: " n/pods/p-liar/proxy.err
}

test_expect_success 'a hello naming another pod'"'"'s log id: refused, recorded, no key-cert made for it' '
	nucleus-node pod -j -k admin.key -l n/node.sock status p-ok >out &&
	victim=$(jq -r .result.log out) &&
	test -n "$victim" &&
	liar "$victim" &&
	liar p-liar.1.0000
'

test_expect_success 'the node itself is unharmed; its log verifies' '
	node_stop &&
	nucleus-audit-verify -q -k node.pub n/audit.log &&
	rm -rf "$(cat tamperdir)"
'

test_done
