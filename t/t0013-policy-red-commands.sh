#!/bin/sh
test_description='nucleus-policy eval: what a hostile agent tries on the command rules (wrappers, git plumbing, gh options)'
. "$(dirname "$0")/test-lib.sh"

# run PROFILE ARGV-JSON EXPECTED-LINE: the decision on running ARGV.
run() {
	case $3 in
	*'"decision":"allow"'*) want=0 ;;
	*) want=1 ;;
	esac &&
	echo "{\"op\":\"run\",\"args\":{\"argv\":$2}}" |
	test_expect_code $want nucleus-policy eval -t 1000 "$1" >out &&
	printf '%s\n' "$3" >expect &&
	test_cmp expect out
}

push_never='{"decision":"deny","kind":"insufficient_capability","reason":"git_push is never allowed"}'
pr_never='{"decision":"deny","kind":"insufficient_capability","reason":"create_pr is never allowed"}'
sudo_blocked='{"decision":"deny","kind":"command_denied","reason":"sudo is blocked by the rule {\"program\":\"sudo\"}"}'

test_expect_success 'chroot, as listed, is seen through (its list was searched unsorted)' '
	run local_dev "[\"chroot\",\"/\",\"sudo\",\"id\"]" "$sudo_blocked" &&
	run local_dev "[\"chroot\",\"/\",\"git\",\"push\"]" "$push_never"
'

test_expect_success 'wrappers that exec their arguments are seen through' '
	for w in "\"prlimit\",\"--cpu=5\"" "\"setarch\",\"x86_64\"" "\"linux64\"" \
	    "\"choom\",\"-n\",\"1\"" "\"runcon\",\"x\"" "\"fakeroot\"" \
	    "\"valgrind\"" "\"ssh-agent\"" "\"dbus-run-session\",\"--\"" \
	    "\"ld.so\",\"--library-path\",\"x\""
	do
		run local_dev "[$w,\"sudo\",\"id\"]" "$sudo_blocked" &&
		run local_dev "[$w,\"git\",\"push\"]" "$push_never" || return 1
	done &&
	run demo "[\"prlimit\",\"bash\",\"x.sh\"]" \
	    "{\"decision\":\"deny\",\"kind\":\"command_denied\",\"reason\":\"bash is blocked by the rule {\\\"program\\\":\\\"bash\\\"}\"}" &&
	run local_dev "[\"ld.so\",\"/usr/bin/git\",\"push\"]" "$push_never"
'

test_expect_success 'demo blocks every shell of the baseline, and php' '
	for sh in ksh mksh csh tcsh php8.2; do
		run demo "[\"$sh\",\"x\"]" "{\"decision\":\"deny\",\"kind\":\"command_denied\",\"reason\":\"$sh is blocked by the rule {\\\"program\\\":\\\"${sh%8.2}$(test $sh = php8.2 && echo "*")\\\"}\"}" || return 1
	done
'

test_expect_success 'capsh, sg, newgrp, sem, tmux and screen hand a string to a shell: refused' '
	why="watch, parallel, sem, runuser, sg, newgrp, capsh, tmux and screen are refused: they hand a string to a shell, which the rules cannot see" &&
	for a in "\"capsh\",\"--\",\"-c\",\"id\"" "\"sg\",\"users\",\"id\"" "\"newgrp\"" \
	    "\"sem\",\"git push\"" "\"nice\",\"sg\",\"users\",\"-c\",\"id\"" \
	    "\"tmux\",\"new\",\"-d\",\"id\"" "\"screen\",\"-dm\",\"id\""
	do
		run local_dev "[$a]" "{\"decision\":\"deny\",\"kind\":\"command_denied\",\"reason\":\"$why\"}" || return 1
	done
'

test_expect_success 'git plumbing that pushes is git_push' '
	run local_dev "[\"git\",\"send-pack\",\"origin\",\"main\"]" "$push_never" &&
	run local_dev "[\"git\",\"-C\",\".\",\"http-push\",\"x\"]" "$push_never" &&
	run local_dev "[\"git-send-pack\",\"x\"]" "$push_never" &&
	run local_dev "[\"git-http-push\",\"x\"]" "$push_never" &&
	run local_dev "[\"git\",\"subtree\",\"-P\",\"lib\",\"push\",\"origin\",\"main\"]" "$push_never" &&
	run local_dev "[\"git\",\"subtree\",\"split\",\"-P\",\"lib\"]" "{\"decision\":\"allow\"}" &&
	run local_dev "[\"git\",\"fetch-pack\",\"x\"]" "{\"decision\":\"allow\"}"
'

test_expect_success 'gh pr create with gh options before or between its words is create_pr' '
	run local_dev "[\"gh\",\"-R\",\"o/r\",\"pr\",\"create\"]" "$pr_never" &&
	run local_dev "[\"gh\",\"--repo\",\"o/r\",\"pr\",\"create\"]" "$pr_never" &&
	run local_dev "[\"gh\",\"pr\",\"-R\",\"o/r\",\"new\"]" "$pr_never" &&
	run local_dev "[\"gh\",\"pr\",\"--repo=o/r\",\"create\"]" "$pr_never" &&
	run local_dev "[\"gh\",\"--help\",\"pr\",\"create\"]" "$pr_never" &&
	run local_dev "[\"gh\",\"pr\",\"list\",\"-R\",\"o/r\"]" "{\"decision\":\"allow\"}" &&
	run local_dev "[\"gh\",\"issue\",\"create\",\"--title\",\"pr\"]" "{\"decision\":\"allow\"}"
'

test_expect_success 'shells under their other names are held to -c' '
	for sh in rbash ksh93 lksh bsd-csh zsh5 ash yash posh; do
		echo "{\"op\":\"run\",\"args\":{\"argv\":[\"$sh\",\"-c\",\"id\"]}}" |
		test_expect_code 1 nucleus-policy eval local_dev >out &&
		jq -e ".kind == \"command_denied\"" out || return 1
	done &&
	run local_dev "[\"ssh\",\"-c\",\"aes128-ctr\",\"h\"]" "{\"decision\":\"allow\"}"
'

test_expect_success 'rm -r --interactive=never is rm -rf' '
	echo "{\"op\":\"run\",\"args\":{\"argv\":[\"rm\",\"--recursive\",\"--interactive=never\",\"x\"]}}" |
	test_expect_code 1 nucleus-policy eval local_dev >out &&
	jq -e ".kind == \"command_denied\"" out
'

test_expect_success 'gh auth and gh config behind gh options are refused' '
	why="gh auth, config, alias and extension are refused, with gh'"'"'s options before them too" &&
	run local_dev "[\"gh\",\"--hostname\",\"h\",\"auth\",\"token\"]" \
	    "{\"decision\":\"deny\",\"kind\":\"command_denied\",\"reason\":\"$why\"}" &&
	run local_dev "[\"gh\",\"-R\",\"o/r\",\"config\",\"get\",\"k\"]" \
	    "{\"decision\":\"deny\",\"kind\":\"command_denied\",\"reason\":\"$why\"}" &&
	run local_dev "[\"gh\",\"--help\",\"auth\"]" \
	    "{\"decision\":\"deny\",\"kind\":\"command_denied\",\"reason\":\"$why\"}"
'

test_expect_success 'git options that take the next word as their value do not hide push' '
	run local_dev "[\"git\",\"--shallow-file\",\"x\",\"push\",\"origin\"]" "$push_never" &&
	run local_dev "[\"git\",\"--attr-source\",\"HEAD\",\"push\"]" "$push_never"
'

test_expect_success 'xargs is refused; find -exec with a found path as program, or in git or gh, is refused' '
	run local_dev "[\"xargs\",\"git\"]" \
	    "{\"decision\":\"deny\",\"kind\":\"command_denied\",\"reason\":\"xargs is refused: the words it adds come from its input, which the rules cannot see\"}" &&
	why="find -exec is refused when a path found (\\\"{}\\\") would be the program, or a word of git or gh: the rules cannot see it" &&
	for a in "\"push\",\"-exec\",\"git\",\"{}\",\"origin\",\";\"" \
	    "\"sudo\",\"-execdir\",\"{}\",\";\"" "\"auth\",\"-ok\",\"gh\",\"{}\",\"token\",\";\""
	do
		run local_dev "[\"find\",$a]" "{\"decision\":\"deny\",\"kind\":\"command_denied\",\"reason\":\"$why\"}" || return 1
	done &&
	run local_dev "[\"find\",\".\",\"-name\",\"*.c\",\"-exec\",\"grep\",\"-n\",\"x\",\"{}\",\"+\"]" "{\"decision\":\"allow\"}" &&
	cat >npm.json <<-\EOF &&
	{"v": 1, "profile": "local_dev",
	 "commands": {"block": [{"program": "npm", "args": [{"exact": "publish"}]}]}}
	EOF
	run npm.json "[\"find\",\"publish\",\"-exec\",\"npm\",\"{}\",\";\"]" \
	    "{\"decision\":\"deny\",\"kind\":\"command_denied\",\"reason\":\"npm is blocked by the rule {\\\"args\\\":[{\\\"exact\\\":\\\"publish\\\"}],\\\"program\\\":\\\"npm\\\"}\"}" &&
	run npm.json "[\"find\",\".\",\"-exec\",\"npm\",\"test\",\"{}\",\";\"]" "{\"decision\":\"allow\"}"
'

test_expect_success 'env -a and bwrap --argv0 are refused: git named git-push is git push' '
	why="the name it gives a program can make it another (git run as git-push is git push)" &&
	for a in "\"env\",\"-a\",\"git-push\",\"git\"" "\"env\",\"--argv0=git-push\",\"git\"" \
	    "\"env\",\"-ia\",\"git-push\",\"git\"" "\"nice\",\"env\",\"--arg\",\"git-push\",\"git\""
	do
		run local_dev "[$a]" "{\"decision\":\"deny\",\"kind\":\"command_denied\",\"reason\":\"env -a (--argv0) is refused: $why\"}" || return 1
	done &&
	run local_dev "[\"bwrap\",\"--argv0\",\"git-push\",\"git\"]" \
	    "{\"decision\":\"deny\",\"kind\":\"command_denied\",\"reason\":\"bwrap --argv0 is refused: $why\"}" &&
	run local_dev "[\"env\",\"-u\",\"A\",\"git\",\"status\"]" "{\"decision\":\"allow\"}"
'

test_expect_success 'gh alias and gh extension are refused: an alias can mean pr create' '
	for w in alias extension extensions ext; do
		run local_dev "[\"gh\",\"$w\",\"set\",\"pc\",\"pr create\"]" \
		    "{\"decision\":\"deny\",\"kind\":\"command_denied\",\"reason\":\"gh is blocked by the rule {\\\"args\\\":[{\\\"exact\\\":\\\"$w\\\"}],\\\"program\\\":\\\"gh\\\"}\"}" || return 1
	done &&
	run local_dev "[\"gh\",\"-R\",\"o/r\",\"alias\",\"list\"]" \
	    "{\"decision\":\"deny\",\"kind\":\"command_denied\",\"reason\":\"gh auth, config, alias and extension are refused, with gh'"'"'s options before them too\"}"
'

test_done
