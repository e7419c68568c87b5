#!/bin/sh
test_description='nucleus-node: an answer is relayed only when the pod'"'"'s host copy holds, durably, the record it names, with that hash, and that record is the request'"'"'s own and says what the answer says; anything else stops the pod, the client told unavailable and the fault recorded; a host copy that cannot be written stops its pod at once, whether an answer waits or not'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-authority.sh"
. "$TEST_DIRECTORY/lib-node.sh"

if ! test_have_prereq ROOT; then
	test_skip_all "the local driver needs root (namespaces and cgroups)"
fi

# tamper MODE POD: POD's proxy runs behind pod-tamper in MODE.
tamper() {
	echo "$1" >"$(cat tamperdir)/pod-tamper.conf" &&
	pod_create "$2" "${3:-local_dev}" >out &&
	jq -r .result.audit_copy out >"copy-$2"
}

# lied POD MESSAGE OP ARGS: a call the pod answers with a lie gets
# unavailable; the pod is stopped, the fault recorded once (its message
# matching MESSAGE), and all the pod's copy holds verifies.
lied() {
	test_expect_code 2 ncall "$1" "$3" "$4" >out &&
	jq -e ".error.kind == \"unavailable\" and .ok == false" out &&
	node_wait_event ".event == \"pod.exit\" and .pod == \"$1\"" &&
	jq -s -c "[.[] | select(.event == \"pod.audit_fault\" and .pod == \"$1\")]" n/audit.log >fault &&
	jq -e "length == 1" fault &&
	jq -e --arg m "$2" ".[0].message | test(\$m)" fault &&
	nucleus-node pod -j -k admin.key -l n/node.sock list >list &&
	jq -e "[.result.pods[] | select(.pod == \"$1\" and .state == \"running\")] | length == 0" list &&
	nucleus-audit-verify -q -k node.pub "$(cat "copy-$1")"
}

test_expect_success 'setup: a node whose pods run behind pod-tamper' '
	authority_setup &&
	node_setup &&
	# Outside /work and /tmp, which the sandbox mounts over.
	mktemp -d /var/tmp/nucleus-t4029.XXXXXX >tamperdir &&
	chmod 755 "$(cat tamperdir)" &&
	cp "$NUCLEUS_BUILD/nucleus-proxy" "$(cat tamperdir)/" &&
	node_start -D 5 -P "$NUCLEUS_BUILD/t/helper/pod-tamper" -B "$(cat tamperdir)"
'

test_expect_success 'an honest pod: answers ok and refusals of every kind are relayed' '
	tamper none p-ok &&
	ncall p-ok write "{\"path\":\"a\",\"content\":\"x\"}" >out &&
	jq -e .ok out &&
	ncall p-ok read "{\"path\":\"a\"}" >out &&
	jq -e ".ok and .result.data == \"x\"" out &&
	test_expect_code 1 ncall p-ok read "{\"path\":\".env\"}" >out &&
	jq -e ".error.kind == \"path_denied\"" out &&
	test_expect_code 2 ncall p-ok read "{\"path\":\"missing\"}" >out &&
	jq -e ".error.kind == \"io_error\"" out &&
	test_expect_code 2 ncall p-ok run "{\"argv\":[\"no-such-program\"]}" >out &&
	jq -e ".error.kind == \"io_error\"" out &&
	test_expect_code 1 ncall p-ok run "{\"argv\":[\"sleep\",\"5\"],\"timeout\":1}" >out &&
	jq -e ".error.kind == \"timeout\"" out &&
	test_expect_code 2 ncall p-ok write "{\"path\":\"a\",\"content\":\"x\",\"color\":1}" >out &&
	jq -e ".error.kind == \"bad_request\"" out &&
	ncall p-ok run "{\"argv\":[\"true\"]}" >out &&
	jq -e .ok out &&
	nucleus-node pod -j -k admin.key -l n/node.sock list >list &&
	jq -e ".result.pods[] | select(.pod == \"p-ok\") | .state == \"running\"" list &&
	! grep -q "pod.audit_fault" n/audit.log
'

test_expect_success 'an honest pod: a call that needs approval is refused as such, and relayed' '
	tamper none p-gated release &&
	test_expect_code 3 ncall p-gated run "{\"argv\":[\"git\",\"push\",\"--force\"]}" >out &&
	jq -e ".error.kind == \"approval_required\"" out &&
	! grep -q "pod.audit_fault" n/audit.log
'

test_expect_success 'the failed read'"'"'s record says it failed, as the agent was told' '
	jq -s -e "[.[] | select(.event == \"decision\" and .op == \"read\" and .kind == \"io_error\" and .status == \"error\")] | length == 1" "$(cat copy-p-ok)" &&
	jq -s -e "[.[] | select(.event == \"outcome\" and .kind == \"timeout\" and .status == \"timeout\")] | length == 1" "$(cat copy-p-ok)" &&
	jq -s -e "[.[] | select(.event == \"outcome\" and .kind == \"io_error\" and .status == \"error\")] | length == 1" "$(cat copy-p-ok)"
'

test_expect_success 'an answer with no audit member: not relayed, the pod stopped' '
	tamper noaudit p-noaudit &&
	lied p-noaudit "^the pod answered with no audit record" read "{\"path\":\"secret.txt\"}"
'

test_expect_success 'a gated command answered with no audit member: not relayed' '
	tamper noaudit p-noaudit2 release &&
	lied p-noaudit2 "^the pod answered with no audit record" run "{\"argv\":[\"git\",\"push\",\"--force\"]}"
'

test_expect_success 'an answer naming record 0 with a hash of zeros: not relayed' '
	tamper seq0 p-seq0 &&
	lied p-seq0 "^the pod.s answer names record 0, not the request.s last record" write "{\"path\":\"a\",\"content\":\"x\"}"
'

test_expect_success 'an answer naming a real record of another request: not relayed' '
	tamper other p-other &&
	ncall p-other write "{\"path\":\"a\",\"content\":\"x\"}" >out &&
	jq -e .ok out &&
	lied p-other "^the pod.s answer names record [0-9]+, not the request.s last record, [0-9]+" read "{\"path\":\"a\"}"
'

test_expect_success 'an answer naming its own record with another hash: not relayed' '
	tamper badhash p-badhash &&
	lied p-badhash "^the pod.s answer names record [0-9]+ with another hash" write "{\"path\":\"a\",\"content\":\"x\"}"
'

test_expect_success 'an ok answer where the record refused: not relayed' '
	tamper okdenied p-okdenied &&
	ncall p-okdenied write "{\"path\":\"a\",\"content\":\"x\"}" >out &&
	jq -e .ok out &&
	lied p-okdenied "^the pod answered ok where record [0-9]+ says decision deny, kind path_denied" read "{\"path\":\".env\"}"
'

test_expect_success 'an ok answer where the command was refused for want of approval: not relayed' '
	tamper okdenied p-okgated release &&
	lied p-okgated "^the pod answered ok where record [0-9]+ says decision approval_required" run "{\"argv\":[\"git\",\"push\",\"--force\"]}"
'

test_expect_success 'a refusal of a line the node never forwarded: not relayed' '
	tamper mangle p-mangle &&
	lied p-mangle "^record [0-9]+: its decision record is on another line than the node forwarded" stat "{\"path\":\"a\"}" &&
	jq -s -e "[.[] | select(.event == \"decision\" and .kind == \"bad_request\" and .id == \"n1\")] | length == 1" "$(cat copy-p-mangle)"
'

test_expect_success 'the other pods go on; the node'"'"'s log verifies' '
	ncall p-ok stat "{\"path\":\"a\"}" >out &&
	jq -e .ok out &&
	nucleus-audit-verify -q -k node.pub n/audit.log
'

# The copy of p-full is on a file system of its own (larger than the
# room a node may keep free beside the copies); once it is full, a
# command's decision record cannot be appended while the command runs,
# with no answer waiting: the pod is stopped then, not when the command
# ends (sleep adds up its arguments).
test_expect_success 'a copy that cannot be written: the pod is stopped at once, no answer waiting' '
	mkdir -m 711 n/pods/p-full &&
	mount -t tmpfs -o size=72m,mode=0711 nucleus-t4029 n/pods/p-full &&
	test_when_finished "umount -l n/pods/p-full" &&
	tamper none p-full &&
	{ dd if=/dev/zero of=n/pods/p-full/filler bs=4096 2>/dev/null || :; } &&
	# 30 s, in an argument too long for the space left
	zeros=$(head -c 6000 /dev/zero | tr "\\0" 0) &&
	start=$(date +%s) &&
	{ ncall p-full run "{\"argv\":[\"sleep\",\"30\",\"0.$zeros\"]}" >full.out & } &&
	call=$! &&
	node_wait_event ".event == \"pod.audit_fault\" and .pod == \"p-full\"" &&
	jq -s -e "[.[] | select(.event == \"pod.audit_fault\" and .pod == \"p-full\")] | .[0].message | test(\"No space left|short write|bytes free\")" n/audit.log &&
	nucleus-node pod -j -k admin.key -l n/node.sock list >list &&
	jq -e "[.result.pods[] | select(.pod == \"p-full\" and .state == \"running\")] | length == 0" list &&
	test_expect_code 2 test_wait_exit "the call to p-full" 20 "$call" &&
	jq -e ".error.kind == \"unavailable\"" full.out &&
	test $(($(date +%s) - start)) -lt 20 &&
	rm n/pods/p-full/filler &&
	nucleus-audit-verify -q -k node.pub "$(cat copy-p-full)"
'

test_expect_success 'the node itself is unharmed; its log verifies' '
	node_stop &&
	nucleus-audit-verify -q -k node.pub n/audit.log &&
	rm -rf "$(cat tamperdir)"
'

test_done
