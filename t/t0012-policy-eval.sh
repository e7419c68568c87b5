#!/bin/sh
test_description='nucleus-policy eval: one decision per input line, the conformance cases of the model'
. "$(dirname "$0")/test-lib.sh"

# decide PROFILE OP-JSON EXPECTED-LINE: that decision, and the exit
# status nucleus-policy(1) gives for it: 0 allowed, 1 denied or needing
# an approval.
decide() {
	case $3 in
	*'"decision":"allow"'*) want=0 ;;
	*) want=1 ;;
	esac &&
	echo "$2" | test_expect_code $want nucleus-policy eval -t 1000 "$1" >out &&
	printf '%s\n' "$3" >expect &&
	test_cmp expect out
}

test_expect_success 'env -S is refused: its string is a command line' '
	why="env -S (--split-string) is refused: the string it splits is a command line the rules cannot see" &&
	decide release "{\"op\":\"run\",\"args\":{\"argv\":[\"env\",\"-S\",\"git push\"]}}" \
	    "{\"decision\":\"deny\",\"kind\":\"command_denied\",\"reason\":\"$why\"}" &&
	decide local_dev "{\"op\":\"run\",\"args\":{\"argv\":[\"env\",\"--split-string=sh -c id\"]}}" \
	    "{\"decision\":\"deny\",\"kind\":\"command_denied\",\"reason\":\"$why\"}" &&
	decide local_dev "{\"op\":\"run\",\"args\":{\"argv\":[\"nice\",\"env\",\"-iS\",\"sh -c id\"]}}" \
	    "{\"decision\":\"deny\",\"kind\":\"command_denied\",\"reason\":\"$why\"}"
'

test_expect_success 'watch, and flock -c: a string for a shell is refused' '
	decide local_dev "{\"op\":\"run\",\"args\":{\"argv\":[\"watch\",\"git push\"]}}" \
	    "{\"decision\":\"deny\",\"kind\":\"command_denied\",\"reason\":\"watch, parallel, sem, runuser, sg, newgrp, capsh, tmux and screen are refused: they hand a string to a shell, which the rules cannot see\"}" &&
	decide local_dev "{\"op\":\"run\",\"args\":{\"argv\":[\"flock\",\"lock\",\"-c\",\"sh -c id\"]}}" \
	    "{\"decision\":\"deny\",\"kind\":\"command_denied\",\"reason\":\"flock -c and script -c are refused: their command is a string for a shell, which the rules cannot see\"}"
'

test_expect_success 'git -c include, includeIf, program keys; --no-index: refused' '
	why="git configuration that includes files or runs a program is refused on the command line" &&
	for c in include.path=x includeIf.onbranch:main.path=x core.fsmonitor=./x \
	    diff.x.textconv=./x
	do
		decide local_dev "{\"op\":\"run\",\"args\":{\"argv\":[\"git\",\"-c\",\"$c\",\"status\"]}}" \
		    "{\"decision\":\"deny\",\"kind\":\"command_denied\",\"reason\":\"$why\"}" || return 1
	done &&
	decide restrictive "{\"op\":\"run\",\"args\":{\"argv\":[\"git\",\"diff\",\"--no-index\",\"--\",\"/dev/null\",\".env\"]}}" \
	    "{\"decision\":\"deny\",\"kind\":\"command_denied\",\"reason\":\"git --no-index is refused: it reads files outside the repository and past the path rules\"}"
'

test_expect_success 'read of a plain file is allowed' '
	decide default "{\"op\":\"read\",\"args\":{\"path\":\"src/a.c\"}}" \
	    "{\"decision\":\"allow\"}"
'

test_expect_success 'read /etc/passwd is sandbox_escape' '
	decide default "{\"op\":\"read\",\"args\":{\"path\":\"/etc/passwd\"}}" \
	    "{\"decision\":\"deny\",\"kind\":\"sandbox_escape\",\"reason\":\"/etc/passwd: absolute path\"}"
'

test_expect_success 'write .env under a sensitive profile is path_denied' '
	decide codegen "{\"op\":\"write\",\"args\":{\"path\":\".env\"}}" \
	    "{\"decision\":\"deny\",\"kind\":\"path_denied\",\"reason\":\".env is blocked by \\\".env*\\\"\"}"
'

test_expect_success 'run git push: codegen, pr_approve, release' '
	decide codegen "{\"op\":\"run\",\"args\":{\"argv\":[\"git\",\"push\"]}}" \
	    "{\"decision\":\"deny\",\"kind\":\"insufficient_capability\",\"reason\":\"git_push is never allowed\"}" &&
	decide pr_approve "{\"op\":\"run\",\"args\":{\"argv\":[\"git\",\"push\"]}}" \
	    "{\"decision\":\"deny\",\"kind\":\"command_denied\",\"reason\":\"git: no allowed command matches\"}" &&
	decide release "{\"op\":\"run\",\"args\":{\"argv\":[\"git\",\"push\"]}}" \
	    "{\"decision\":\"approval_required\",\"obligation\":\"git_push\"}"
'

test_expect_success 'run cargo test under fix_issue needs run_bash approved (nu)' '
	decide fix_issue "{\"op\":\"run\",\"args\":{\"argv\":[\"cargo\",\"test\"]}}" \
	    "{\"decision\":\"approval_required\",\"obligation\":\"run_bash\"}"
'

test_expect_success 'a policy file without the constraint member still gets nu' '
	cat >tri.json <<-\EOF &&
	{"capabilities": {"read_files": "always", "web_fetch": "low_risk",
	  "create_pr": "low_risk"},
	 "commands": {"set": "permissive"},
	 "budget": {"limit_microusd": 1000}, "time": {"lifetime_seconds": 60}}
	EOF
	decide tri.json "{\"op\":\"run\",\"args\":{\"argv\":[\"gh\",\"pr\",\"create\"]}}" \
	    "{\"decision\":\"approval_required\",\"obligation\":\"create_pr\"}"
'

test_expect_success 'one line out per line in; bad lines are reported and skipped' '
	cat >in <<-\EOF &&
	{"op":"read","args":{"path":"a"}}
	not json
	{"op":"fly"}
	{"op":"run","args":{"argv":"ls"}}

	{"op":"read","args":{"path":"b"},"extra":1}
	{"op":"read","args":{"path":"c"}}
	EOF
	test_expect_code 2 nucleus-policy eval -t 0 read_only <in >out &&
	test_line_count = 7 out &&
	sed -n 1p out | grep -x "{\"decision\":\"allow\"}" &&
	sed -n 2p out | grep "^{\"error\":\"bad_request\",\"line\":2,\"message\":\"column [0-9]*: " &&
	sed -n 3p out | grep -x "{\"error\":\"bad_request\",\"line\":3,\"message\":\"op: unknown operation\"}" &&
	sed -n 4p out | grep -x "{\"error\":\"bad_request\",\"line\":4,\"message\":\"args.argv: expected an array of strings\"}" &&
	sed -n 5p out | grep -x "{\"error\":\"bad_request\",\"line\":5,\"message\":\"empty line\"}" &&
	sed -n 6p out | grep -x "{\"error\":\"bad_request\",\"line\":6,\"message\":\"extra: unknown member\"}" &&
	sed -n 7p out | grep -x "{\"decision\":\"allow\"}"
'

test_expect_success 'a line over 1 MiB is too_large, and the next line is read' '
	{ printf "{\"op\":\"read\",\"args\":{\"path\":\""; head -c 1048576 /dev/zero | tr "\0" a; printf "\"}}\n"; echo "{\"op\":\"stat\",\"args\":{\"path\":\"x\"}}"; } >big &&
	test_expect_code 2 nucleus-policy eval -t 0 read_only <big >out &&
	test_line_count = 2 out &&
	sed -n 1p out | grep -x "{\"error\":\"too_large\",\"line\":1,\"message\":\"line longer than 1048576 bytes\"}" &&
	sed -n 2p out | grep -x "{\"decision\":\"allow\"}"
'

test_expect_success 'a line of exactly 1 MiB is read' '
	{ printf "{\"op\":\"read\",\"args\":{\"path\":\""; head -c 1048544 /dev/zero | tr "\0" a; printf "\"}}\n"; } >edge &&
	test $(wc -c <edge) = 1048577 &&
	test_expect_code 1 nucleus-policy eval -t 0 read_only <edge >out &&
	grep "\"kind\":\"bad_request\",\"reason\":\"aaa.*path longer than 4096 bytes\"" out
'

test_expect_success 'a NUL byte in a line is bad_request' '
	printf "{\"op\":\"read\",\"args\":{\"path\":\"a\0b\"}}\n" >nul &&
	test_expect_code 2 nucleus-policy eval -t 0 read_only <nul >out &&
	grep -x "{\"error\":\"bad_request\",\"line\":1,\"message\":\"line holds a NUL byte\"}" out
'

test_expect_success 'exit status: 0 all allowed, 1 something refused' '
	echo "{\"op\":\"read\",\"args\":{\"path\":\"a\"}}" | nucleus-policy eval read_only &&
	echo "{\"op\":\"write\",\"args\":{\"path\":\"a\"}}" | test_expect_code 1 nucleus-policy eval read_only >out &&
	grep "\"kind\":\"insufficient_capability\",\"reason\":\"write_files is never allowed\"" out
'

test_expect_success 'write of an existing file needs edit_files' '
	cat >wr.json <<-\EOF &&
	{"profile": "edit_only", "capabilities": {"edit_files": "never"}}
	EOF
	echo "{\"op\":\"write\",\"args\":{\"path\":\"new.c\",\"exists\":false}}" | nucleus-policy eval wr.json &&
	echo "{\"op\":\"write\",\"args\":{\"path\":\"old.c\",\"exists\":true}}" | test_expect_code 1 nucleus-policy eval wr.json >out &&
	grep "edit_files is never allowed" out
'

test_expect_success 'time window and budget come before obligations' '
	cat >tw.json <<-\EOF &&
	{"profile": "release", "time": {"not_before": 100, "not_after": 200}}
	EOF
	echo "{\"op\":\"run\",\"args\":{\"argv\":[\"git\",\"push\"]}}" >push &&
	test_expect_code 1 nucleus-policy eval -t 150 tw.json <push >out &&
	grep -x "{\"decision\":\"approval_required\",\"obligation\":\"git_push\"}" out &&
	test_expect_code 1 nucleus-policy eval -t 200 tw.json <push >out &&
	grep "\"kind\":\"time_window\"" out &&
	test_expect_code 1 nucleus-policy eval -t 99 tw.json <push >out &&
	grep "\"kind\":\"time_window\",\"reason\":\"not yet valid" out &&
	echo "{\"op\":\"run\",\"args\":{\"argv\":[\"git\",\"push\"]},\"cost_microusd\":5000001}" |
	    test_expect_code 1 nucleus-policy eval -t 150 tw.json >out &&
	grep "\"kind\":\"budget_exhausted\"" out
'

test_expect_success 'argv limits: 256 items pass, 257 are bad_request' '
	awk "BEGIN { printf \"{\\\"op\\\":\\\"run\\\",\\\"args\\\":{\\\"argv\\\":[\\\"ls\\\"\"; for (i = 1; i < 256; i++) printf \",\\\"x\\\"\"; print \"]}}\" }" >a256 &&
	nucleus-policy eval -t 0 local_dev <a256 &&
	sed "s/\]}}/,\"x\"]}}/" a256 >a257 &&
	test_expect_code 2 nucleus-policy eval -t 0 local_dev <a257 >out &&
	grep "more than 256 items" out
'

test_expect_success 'an invalid policy makes eval exit 2 before reading' '
	echo "{\"profile\": \"default\", \"trifecta_constraint\": false}" >off.json &&
	echo "{\"op\":\"read\",\"args\":{\"path\":\"a\"}}" | test_expect_code 2 nucleus-policy eval off.json >out 2>err &&
	test_line_count = 0 out &&
	grep "trifecta_constraint" err
'

test_expect_success '-t: Unix seconds read whole, or a usage error' '
	for t in 10x "" " 10" +10 -10 010 9999999999999999999999
	do
		echo "{\"op\":\"read\",\"args\":{\"path\":\"a\"}}" |
		test_expect_code 2 nucleus-policy eval -t "$t" read_only \
		    >out 2>err &&
		grep -F -- "-t $t: " err &&
		grep -F "expected Unix seconds" err || return 1
	done
'

test_done
