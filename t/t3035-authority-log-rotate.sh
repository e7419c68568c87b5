#!/bin/sh
test_description='nucleus-authority: its own audit log rotates by size (-R) and on SIGUSR1, confined, and the files verify as one chain'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-authority.sh"

# Requests granted by a rule: two records each.
asks() {
	i=0
	while [ $i -lt "$1" ]; do
		nucleus-authority ask -d auth -k agent.key p-1 run \
		    "{\"argv\":[\"echo\",\"gated\",\"$i\"]}" >/dev/null || return 1
		i=$((i + 1))
	done
}

rotated() {
	grep -c "the audit log rotated: generation" authority.err || :
}

test_expect_success 'setup: an authority whose log rotates past 4 KiB' '
	authority_setup "{\"v\":1,\"rules\":[{\"name\":\"echo\",\"agent\":\"agent-7\",\"pod\":\"p-*\",\"op\":\"run\",\"argv_prefix\":[\"echo\",\"gated\"],\"max_per_hour\":100000}]}" &&
	authority_start -R 4
'

test_expect_success 'the log rotates by size while requests are granted' '
	asks 20 &&
	authority_alive &&
	test -f auth/audit.log.0 &&
	tail -n 1 auth/audit.log.0 | jq -e ".event == \"log.close\" and .reason == \"size\"" &&
	head -n 1 auth/audit.log | jq -e ".predecessor.log | startswith(\"authority-authority-1\")" &&
	nucleus-audit-verify -q -s state -k authority.pub auth/audit.log*
'

test_expect_success 'SIGUSR1 rotates it now; the confined authority lives on' '
	gen=$(ls auth/audit.log.* | wc -l) &&
	kill -USR1 "$(cat authority.pid)" &&
	test_wait_for "the rotation said on stderr" 10 eval "test \$(rotated) -ge 1" &&
	asks 3 &&
	authority_alive &&
	test "$(ls auth/audit.log.* | wc -l)" -gt "$gen" &&
	grep -l "\"reason\":\"asked\"" auth/audit.log.* &&
	nucleus-audit-verify -q -s state -k authority.pub auth/audit.log*
'

test_expect_success 'restarted, it carries on its generation and its records' '
	authority_stop &&
	id=$(head -n 1 auth/audit.log | jq -r .log) &&
	authority_start -R 0 &&
	test "$(head -n 1 auth/audit.log | jq -r .log)" = "$id" &&
	asks 2 &&
	nucleus-audit-verify -q -s state -k authority.pub auth/audit.log*
'

test_expect_success '-R past its limit is a usage error' '
	authority_stop &&
	test_expect_code 2 nucleus-authority serve -d auth -R 1048577 2>err &&
	grep "1048577: .*expected 0 to 1048576 KiB" err
'

test_done
