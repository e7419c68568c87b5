#!/bin/sh
test_description='nucleus-policy check: valid files pass quietly, each kind of fault is named with its JSON path'
. "$(dirname "$0")/test-lib.sh"

# check_fails FILE 'expected message line': exit 1, exactly that on stderr.
check_fails() {
	test_expect_code 1 nucleus-policy check "$1" 2>err &&
	printf '%s\n' "$2" >expect &&
	test_cmp expect err
}

test_expect_success 'a valid policy is quiet and exits 0' '
	cat >good.json <<-\EOF &&
	{"v": 1, "name": "ci-reader", "profile": "read_only",
	 "paths": {"block": ["build/**"], "presets": ["sensitive"]},
	 "budget": {"limit_microusd": 250000}}
	EOF
	nucleus-policy check good.json >out 2>err &&
	test_line_count = 0 out &&
	test_line_count = 0 err
'

test_expect_success 'a policy without a profile needs budget and time' '
	echo "{\"capabilities\": {\"read_files\": \"always\"}}" >nobudget.json &&
	check_fails nobudget.json "nobudget.json: budget: required when no profile is named" &&
	echo "{\"capabilities\": {}, \"budget\": {\"limit_microusd\": 5}}" >notime.json &&
	check_fails notime.json "notime.json: time: required when no profile is named"
'

test_expect_success 'a wrong level names the capability and the choices' '
	echo "{\"profile\": \"default\", \"capabilities\": {\"run_bash\": \"sometimes\"}}" >level.json &&
	check_fails level.json "level.json: capabilities.run_bash: expected one of never, low_risk, always"
'

test_expect_success 'an unknown member is refused, at any depth' '
	echo "{\"profile\": \"default\", \"colour\": 1}" >top.json &&
	check_fails top.json "top.json: colour: unknown member" &&
	echo "{\"profile\": \"default\", \"capabilities\": {\"rn_bash\": \"never\"}}" >cap.json &&
	check_fails cap.json "cap.json: capabilities.rn_bash: unknown capability" &&
	echo "{\"profile\": \"default\", \"commands\": {\"block\": [{\"program\": \"x\", \"argz\": []}]}}" >rule.json &&
	check_fails rule.json "rule.json: commands.block[0].argz: unknown member"
'

test_expect_success 'wrong types and ranges are named' '
	echo "{\"profile\": \"default\", \"budget\": {\"limit_microusd\": \"5\"}}" >type.json &&
	check_fails type.json "type.json: budget.limit_microusd: expected an integer" &&
	echo "{\"profile\": \"default\", \"budget\": {\"limit_microusd\": 1.5}}" >frac.json &&
	check_fails frac.json "frac.json: budget.limit_microusd: expected an integer, not a fraction" &&
	echo "{\"profile\": \"default\", \"budget\": {\"limit_microusd\": -1}}" >neg.json &&
	check_fails neg.json "neg.json: budget.limit_microusd: out of range (0 to 1000000000000)" &&
	echo "{\"profile\": \"default\", \"budget\": {\"limit_microusd\": 1000000000001}}" >big.json &&
	check_fails big.json "big.json: budget.limit_microusd: out of range (0 to 1000000000000)" &&
	echo "{\"profile\": \"default\", \"budget\": {\"limit_microusd\": 1000000000000}}" >max.json &&
	nucleus-policy check max.json &&
	echo "{\"profile\": \"default\", \"obligations\": [\"git_push\", \"git_push\"]}" >twice.json &&
	check_fails twice.json "twice.json: obligations[1]: git_push is listed twice" &&
	echo "{\"profile\": \"default\", \"v\": 2}" >v2.json &&
	check_fails v2.json "v2.json: v: unsupported version 2 (this is version 1)" &&
	echo "{\"profile\": \"nope\"}" >prof.json &&
	check_fails prof.json "prof.json: profile: unknown profile (nucleus-policy(5) lists them)" &&
	echo "{\"profile\": \"default\", \"name\": \"a b\"}" >name.json &&
	check_fails name.json "name.json: name: a name is made of A-Z, a-z, 0-9, '"'"'.'"'"', '"'"'_'"'"' and '"'"'-'"'"'"
'

test_expect_success 'the trifecta constraint cannot be switched off' '
	echo "{\"profile\": \"default\", \"trifecta_constraint\": false}" >off.json &&
	check_fails off.json "off.json: trifecta_constraint: the trifecta constraint cannot be switched off: nu applies to every policy" &&
	echo "{\"profile\": \"default\", \"trifecta_constraint\": true}" >on.json &&
	nucleus-policy check on.json
'

test_expect_success 'bad globs and rules are named with their index' '
	echo "{\"profile\": \"default\", \"paths\": {\"block\": [\"*.pem\", \"a**\"]}}" >glob.json &&
	check_fails glob.json "glob.json: paths.block[1]: '"'"'**'"'"' must be a whole component" &&
	echo "{\"profile\": \"default\", \"paths\": {\"allow\": [\"/etc/**\"]}}" >abs.json &&
	check_fails abs.json "abs.json: paths.allow[0]: absolute glob (globs are relative to the root)" &&
	echo "{\"profile\": \"default\", \"commands\": {\"allow\": [{\"program\": \"a\", \"args\": [\"any_remaining\", \"any\"]}]}}" >rem.json &&
	check_fails rem.json "rem.json: commands.allow[0].args[0]: \"any_remaining\" must be the last pattern" &&
	echo "{\"profile\": \"default\", \"commands\": {\"allow\": [{\"program\": \"/bin/ls\"}]}}" >prog.json &&
	check_fails prog.json "prog.json: commands.allow[0].program: a program is a name, not a path: it is matched against the last component of argv[0]"
'

test_expect_success 'time windows: both ends or a lifetime, never empty' '
	echo "{\"profile\": \"default\", \"time\": {\"not_before\": 10, \"not_after\": 10}}" >empty.json &&
	check_fails empty.json "empty.json: time.not_after: must be later than not_before (the window would be empty)" &&
	echo "{\"profile\": \"default\", \"time\": {\"not_before\": 10, \"lifetime_seconds\": 10}}" >mixed.json &&
	check_fails mixed.json "mixed.json: time: give either not_before and not_after, or lifetime_seconds" &&
	echo "{\"profile\": \"default\", \"time\": {\"not_before\": 10}}" >half.json &&
	check_fails half.json "half.json: time: give both not_before and not_after"
'

test_expect_success 'JSON syntax errors give a line and column; duplicates are refused' '
	printf "{\n  \"profile\": \"default\",\n  \"name\": \n}\n" >syntax.json &&
	test_expect_code 1 nucleus-policy check syntax.json 2>err &&
	grep "^syntax.json: line 4, column 1: " err &&
	echo "{\"profile\": \"default\", \"profile\": \"permissive\"}" >dup.json &&
	test_expect_code 1 nucleus-policy check dup.json 2>err &&
	grep "^dup.json: line 1, column [0-9]*: duplicate object key" err &&
	echo "[]" >array.json &&
	check_fails array.json "array.json: \$: a policy is a JSON object"
'

test_expect_success 'limits: 1024 globs pass, 1025 fail' '
	awk "BEGIN { printf \"{\\\"profile\\\":\\\"default\\\",\\\"paths\\\":{\\\"block\\\":[\"; for (i = 0; i < 1024; i++) printf \"%s\\\"g%d\\\"\", i ? \",\" : \"\", i; print \"]}}\" }" >g1024.json &&
	nucleus-policy check g1024.json &&
	awk "BEGIN { printf \"{\\\"profile\\\":\\\"default\\\",\\\"paths\\\":{\\\"block\\\":[\"; for (i = 0; i < 1025; i++) printf \"%s\\\"g%d\\\"\", i ? \",\" : \"\", i; print \"]}}\" }" >g1025.json &&
	check_fails g1025.json "g1025.json: paths.block: more than 1024 globs"
'

test_expect_success 'limits: a file over 1 MiB is refused for its size' '
	{ printf "{\"profile\":\"default\",\"description\":\""; head -c 1048576 /dev/zero | tr "\0" a; printf "\"}"; } >huge.json &&
	check_fails huge.json "huge.json: \$: larger than 1048576 bytes"
'

test_expect_success 'limits: a rule of 64 argument patterns passes, 65 fail' '
	awk "BEGIN { printf \"{\\\"profile\\\":\\\"default\\\",\\\"commands\\\":{\\\"block\\\":[{\\\"program\\\":\\\"x\\\",\\\"args\\\":[\"; for (i = 0; i < 64; i++) printf \"%s\\\"any\\\"\", i ? \",\" : \"\"; print \"]}]}}\" }" >a64.json &&
	nucleus-policy check a64.json &&
	sed "s/\"any\"]/\"any\",\"any\"]/" a64.json >a65.json &&
	check_fails a65.json "a65.json: commands.block[0].args: more than 64 argument patterns"
'

test_expect_success 'several files: each fault is reported, the worst status wins' '
	test_expect_code 1 nucleus-policy check good.json level.json top.json 2>err &&
	test_line_count = 2 err &&
	test_expect_code 2 nucleus-policy check good.json missing.json 2>err &&
	grep "missing.json: No such file or directory" err
'

test_expect_success 'a policy can be read from standard input' '
	nucleus-policy check - <good.json &&
	test_expect_code 1 nucleus-policy check - <level.json 2>err &&
	grep "^-: capabilities.run_bash" err
'

test_expect_success 'usage errors exit 2 and print the synopsis' '
	test_expect_code 2 nucleus-policy 2>err &&
	grep "^usage: nucleus-policy show" err &&
	test_expect_code 2 nucleus-policy check 2>err &&
	test_expect_code 2 nucleus-policy frobnicate 2>err &&
	test_expect_code 2 nucleus-policy show -x default 2>err &&
	test_expect_code 2 nucleus-policy show -t yesterday default 2>err &&
	grep "expected Unix seconds" err
'

test_done
