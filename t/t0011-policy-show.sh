#!/bin/sh
test_description='nucleus-policy show and profiles: the normalized policy as JSON'
. "$(dirname "$0")/test-lib.sh"

test_expect_success 'profiles lists the 17 profiles' '
	nucleus-policy profiles >out &&
	test_line_count = 17 out &&
	grep -x default out &&
	grep -x pr_approve out
'

test_expect_success 'show -c prints one line of normalized JSON, members sorted' '
	nucleus-policy show -c -t 1000 network_only >out &&
	test_line_count = 1 out &&
	grep "^{\"budget\":{\"consumed_microusd\":0,\"limit_microusd\":1000000,\"reserved_microusd\":0},\"capabilities\":{" out &&
	grep "\"time\":{\"not_after\":2800,\"not_before\":1000},\"v\":1}$" out &&
	grep "\"obligations\":\[\]" out &&
	grep "\"paths\":{\"allow\":\"any\",\"block\":\[\]}" out
'

test_expect_success 'show lists the obligations nu added' '
	nucleus-policy show -c -t 0 permissive >out &&
	grep "\"obligations\":\[\"run_bash\",\"git_push\",\"create_pr\"\]" out
'

test_expect_success 'every profile survives show, check, show unchanged' '
	for p in $(nucleus-policy profiles); do
		nucleus-policy show -t 1000 $p >$p.json &&
		nucleus-policy check $p.json &&
		nucleus-policy show -t 5000 $p.json >$p.again &&
		test_cmp $p.json $p.again || return 1
	done
'

test_expect_success 'a file with a profile: allow replaces, block adds' '
	cat >p.json <<-\EOF &&
	{"profile": "codegen", "name": "mine", "description": "for tests",
	 "paths": {"allow": ["src/**"], "block": ["src/gen/**"]},
	 "capabilities": {"web_fetch": "low_risk"},
	 "budget": {"consumed_microusd": 7}}
	EOF
	nucleus-policy show -c -t 1000 p.json >out &&
	grep "\"name\":\"mine\"" out &&
	grep "\"description\":\"for tests\"" out &&
	grep "\"allow\":\[\"src/\*\*\"\]" out &&
	grep "\"block\":\[[^]]*\"src/gen/\*\*\"" out &&
	grep "\"block\":\[[^]]*\"\*\.pem\"" out &&
	grep "\"consumed_microusd\":7,\"limit_microusd\":5000000" out &&
	grep "\"obligations\":\[\"run_bash\"\]" out
'

test_expect_success 'a name that is not a profile is read as a file' '
	test_expect_code 2 nucleus-policy show defualt 2>err &&
	grep "defualt: No such file or directory" err &&
	mkdir sub &&
	nucleus-policy show -t 1 default >sub/default &&
	nucleus-policy show -t 1 ./sub/default >out &&
	test_cmp sub/default out
'

test_done
