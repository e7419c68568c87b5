#!/bin/sh
test_description='nucleus-authority on a full disk: it says so once, answers unavailable at once, takes its log up again by itself when space returns, and leaves a log that verifies'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-authority.sh"

if ! test_have_prereq ROOT; then
	test_skip_all "a tmpfs is mounted for the authority's directory (root)"
fi

# ask1 N: one request a rule grants; its answer in out.
ask1() {
	timeout 20 nucleus-authority ask -j -d auth -k agent.key p-1 run \
	    "{\"argv\":[\"echo\",\"gated\",\"$1\"]}" >out 2>err
}

granted_() {
	ask1 again && jq -e .result.token out >/dev/null
}

stopped_said() {
	grep -c "nucleus-authority: log.fault the audit log has stopped: .*No space left on device" authority.err || :
}

test_expect_success 'setup: the authority'"'"'s directory on a 2 MiB tmpfs' '
	authority_setup "{\"v\":1,\"rules\":[{\"name\":\"echo\",\"agent\":\"agent-7\",\"pod\":\"p-*\",\"op\":\"run\",\"argv_prefix\":[\"echo\",\"gated\"],\"max_per_hour\":100000}]}" &&
	mv auth auth.made &&
	mkdir -m 700 auth &&
	mount -t tmpfs -o size=2m,mode=700 nucleus-test auth &&
	test_when_failed "umount -l auth" &&
	cp -a auth.made/. auth/ &&
	authority_start &&
	ask1 0 &&
	jq -e .result.token out &&
	ask w p-1 run "{\"argv\":[\"make\",\"release\"]}" &&
	until_pending 1
'

test_expect_success 'the disk fills: it says so on stderr once, and answers unavailable at once' '
	test_when_finished "rm -f auth/filler" &&
	{ head -c 8388608 /dev/zero >auth/filler 2>/dev/null || :; } &&
	# The log'"'"'s last page may hold a few more records: each request
	# is answered, granted or unavailable, until the log stops.
	i=0 &&
	while test "$(stopped_said)" = 0
	do
		test $i -lt 200 &&
		{ ask1 $i || :; } &&
		jq -e ".result.token or .error.kind == \"unavailable\"" out >/dev/null &&
		i=$((i + 1)) || return 1
	done &&
	test_must_fail ask1 late &&
	jq -e ".error.kind == \"unavailable\" and (.error.message | test(\"tried again each second\"))" out &&
	test_must_fail ask1 later &&
	jq -e ".error.kind == \"unavailable\"" out &&
	# An operator'"'"'s decision is not taken either, nor stored: the
	# request is still pending once the log is back (below).
	test_must_fail nucleus-authority grant -d auth 2 2>err &&
	grep "unavailable" err &&
	authority_alive &&
	test "$(stopped_said)" = 1
'

test_expect_success 'space returns: it records the fault and grants again by itself' '
	test_wait_for "the authority to grant again" 15 granted_ &&
	grep -q "nucleus-authority: log.fault the audit log is written again, after [0-9]* s ([1-9][0-9]* records not made)" authority.err &&
	jq -s -e "[.[] | select(.event == \"authority.log_fault\")] | length == 1 and (.[0].unrecorded >= 1) and (.[0].error | test(\"No space\"))" auth/audit.log &&
	jq -s -e "[.[] | select(.event == \"log.resume\")] | length >= 1" auth/audit.log &&
	nucleus-authority grant -d auth 2 &&
	ask_done w &&
	test "$(cat w.rc)" = 0
'

test_expect_success 'its log verifies, ends in a whole line, and leaves no record for the next start to write' '
	authority_stop &&
	test "$(tail -c 1 auth/audit.log | od -An -c | tr -d " ")" = "\\n" &&
	nucleus-audit-verify -k authority.pub auth/audit.log &&
	authority_start &&
	! grep "wrote the records of" authority.err &&
	authority_stop &&
	nucleus-audit-verify -k authority.pub auth/audit.log &&
	test -z "$(find auth -name "*.log*" -empty)"
'

test_expect_success 'cleanup: the tmpfs' '
	umount auth
'

test_done
