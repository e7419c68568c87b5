#!/bin/sh
test_description='nucleus-proxy: commands, argv only, in a sandbox, with caps and timeouts'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-proxy.sh"

# No process whose command line matches $1.
no_process() {
	! pgrep -f "$1" >/dev/null
}

test_expect_success 'setup: a local_dev pod with small limits' '
	proxy_setup local_dev "\"limits\": {\"output\": 1000, \"commands\": 3}, \"env\": {\"GREETING\": \"hi\"}" &&
	mkdir root/src &&
	printf "sleep 3517 &\necho started\n" >root/bg.sh &&
	printf "setsid sleep 3518 &\necho started\n" >root/escape.sh &&
	proxy_start
'

test_expect_success 'a command runs; its output, exit and records' '
	req c1 run "{\"argv\":[\"echo\",\"hello\",\"world\"]}" | send >out &&
	resp c1 | jq -e ".ok and .result.exit == 0 and .result.stdout == \"hello world\\n\" and .result.stderr == \"\"" &&
	seq=$(resp c1 | jq .audit.seq) &&
	log=$(proxy_log) &&
	sed -n "$((seq + 1))p" "$log" | jq -e ".event == \"outcome\" and .id == \"c1\" and .exit == 0 and .stdout_bytes == 12" &&
	sed -n "${seq}p" "$log" | jq -e ".event == \"decision\" and .subject == [\"echo\",\"hello\",\"world\"] and .capability == \"run_bash\""
'

test_expect_success 'exit status, stderr and stdin' '
	req c2 run "{\"argv\":[\"ls\",\"no-such-file\"]}" | send >out &&
	resp c2 | jq -e ".ok and .result.exit == 2 and (.result.stderr | test(\"no-such-file\"))" &&
	req c3 run "{\"argv\":[\"cat\"],\"stdin\":\"from stdin\"}" | send >out &&
	resp c3 | jq -e ".result.stdout == \"from stdin\""
'

test_expect_success 'a cleared environment with only what the pod gives, and git'"'"'s' '
	test_when_finished "rm -f root/env.sh" &&
	echo "env | grep -v -e ^GIT_ -e ^PWD=" >root/env.sh &&
	req c4 run "{\"argv\":[\"sh\",\"env.sh\"]}" | send >out &&
	resp c4 | jq -r .result.stdout | sort >env.out &&
	grep -x "GREETING=hi" env.out &&
	grep -x "LANG=C.UTF-8" env.out &&
	grep "^PATH=$NUCLEUS_BUILD/t/helper:/usr/bin:/bin$" env.out &&
	grep -x "HOME=$PWD/root" env.out &&
	grep -x "TMPDIR=/tmp" env.out &&
	test_line_count = 6 env.out &&
	req c4g run "{\"argv\":[\"printenv\",\"GIT_CONFIG_NOSYSTEM\",\"GIT_CONFIG_GLOBAL\",\"GIT_CONFIG_KEY_0\"]}" | send >out &&
	resp c4g | jq -e ".result.stdout == \"1\\n/dev/null\\ncore.fsmonitor\\n\""
'

test_expect_success 'the working directory is beneath the root' '
	req c5 run "{\"argv\":[\"pwd\"],\"cwd\":\"src\"}" | send >out &&
	resp c5 | jq -e ".result.stdout == \"$PWD/root/src\\n\"" &&
	req c6 run "{\"argv\":[\"pwd\"],\"cwd\":\"../\"}" | send >out &&
	resp c6 | jq -e ".error.kind == \"sandbox_escape\""
'

test_expect_success 'argv[0] is a name on the search path, never a path' '
	req c7 run "{\"argv\":[\"/bin/ls\"]}" | send >out &&
	resp c7 | jq -e ".error.kind == \"bad_request\"" &&
	req c8 run "{\"argv\":[\"no-such-program\"]}" | send >out &&
	resp c8 | jq -e ".error.kind == \"io_error\" and (.error.message | test(\"not found on the pod.s search path\"))"
'

test_expect_success 'the baseline blocks hold: sh -c is command_denied' '
	req c9 run "{\"argv\":[\"sh\",\"-c\",\"id\"]}" | send >out &&
	resp c9 | jq -e ".error.kind == \"command_denied\""
'

test_expect_success 'the command sees only stdin, stdout and stderr' '
	req fd run "{\"argv\":[\"ls\",\"/proc/self/fd\"]}" | send >out &&
	resp fd | jq -e ".result.stdout == \"0\\n1\\n2\\n3\\n\""
'

test_expect_success 'the command runs under its rlimits' '
	req rl run "{\"argv\":[\"prlimit\",\"--cpu\",\"--nofile\",\"--as\",\"--fsize\",\"--core\",\"-o\",\"RESOURCE,SOFT,HARD\",\"--noheadings\",\"--raw\"],\"timeout\":7}" | send >out &&
	resp rl | jq -j .result.stdout | sort >got &&
	cat >expect <<-\EOT &&
	AS 4294967296 4294967296
	CORE 0 0
	CPU 12 12
	FSIZE 4294967296 4294967296
	NOFILE 1024 1024
	EOT
	test_cmp expect got
'

test_expect_success 'output beyond the cap is counted, not kept' '
	req o1 run "{\"argv\":[\"head\",\"-c\",\"5000\",\"/dev/zero\"]}" | send >out &&
	resp o1 | jq -e ".result.stdout_truncated and .result.stdout_encoding == \"base64\"" &&
	test $(resp o1 | jq -r .result.stdout | base64 -d | wc -c) -eq 1000 &&
	seq=$(resp o1 | jq .audit.seq) &&
	sed -n "$((seq + 1))p" "$(proxy_log)" | jq -e ".stdout_bytes == 5000"
'

test_expect_success 'a command writing 1 GiB does not hurt the proxy' '
	req o2 run "{\"argv\":[\"head\",\"-c\",\"1073741824\",\"/dev/zero\"]}" | send >out &&
	resp o2 | jq -e ".result.exit == 0 and .result.stdout_truncated" &&
	seq=$(resp o2 | jq .audit.seq) &&
	sed -n "$((seq + 1))p" "$(proxy_log)" | jq -e ".stdout_bytes == 1073741824" &&
	proxy_alive
'

test_expect_success 'a timeout kills the command and all it started' '
	req t1 run "{\"argv\":[\"sleep\",\"3516\"],\"timeout\":1}" | send >out &&
	resp t1 | jq -e ".error.kind == \"timeout\" and .error.timed_out" &&
	seq=$(resp t1 | jq .audit.seq) &&
	sed -n "$((seq + 1))p" "$(proxy_log)" | jq -e ".status == \"timeout\"" &&
	! pgrep -f "^sleep 3516$"
'

test_expect_success 'what a command leaves running is killed when it ends' '
	req b1 run "{\"argv\":[\"sh\",\"bg.sh\"]}" | send >out &&
	resp b1 | jq -e ".result.stdout == \"started\\n\"" &&
	test_wait_for "the sleep 3517 it left to be killed" 4 no_process "^sleep 3517$" &&
	req b2 run "{\"argv\":[\"sh\",\"escape.sh\"]}" | send >out &&
	resp b2 | jq -e ".result.stdout == \"started\\n\"" &&
	test_wait_for "the setsid sleep 3518 it left to be killed" 4 no_process "^sleep 3518$"
'

test_expect_success 'the sandbox: no internet sockets, no writes outside the root' '
	req s1 run "{\"argv\":[\"try-syscall\",\"socket-inet\",\"socket-unix\",\"ptrace\",\"unshare\",\"mount\",\"clone-newuser\"]}" | send >out &&
	resp s1 | jq -j .result.stdout >got &&
	cat >expect <<-\EOT &&
	socket-inet EACCES
	socket-unix ok
	ptrace EPERM
	unshare EPERM
	mount EPERM
	clone-newuser EPERM
	EOT
	test_cmp expect got
'

test_expect_success LANDLOCK_ABI 'Landlock: writes only beneath the root and /tmp' '
	req s2 run "{\"argv\":[\"try-syscall\",\"write\",\"inside.txt\",\"write\",\"/var/tmp/nucleus-outside\"]}" | send >out &&
	resp s2 | jq -j .result.stdout >got &&
	printf "write ok\nwrite EACCES\n" >expect &&
	test_cmp expect got &&
	test -f root/inside.txt &&
	test ! -e /var/tmp/nucleus-outside
'

test_expect_success 'too many commands at once: unavailable' '
	for i in 1 2 3 4; do req p$i run "{\"argv\":[\"sleep\",\"1\"]}"; done | send >out &&
	jq -s -e "map(select(.ok)) | length == 3" out &&
	jq -s -e "map(select(.ok | not)) | length == 1 and .[0].error.kind == \"unavailable\"" out
'

test_expect_success 'the proxy is alive, and its log verifies' '
	proxy_alive &&
	proxy_stop &&
	verify_log
'

test_expect_success 'with egress, internet sockets are allowed' '
	sed "s/\"limits\"/\"egress\": true, \"limits\"/" pod.json >pod2.json &&
	mv pod2.json pod.json &&
	proxy_start &&
	req s3 run "{\"argv\":[\"try-syscall\",\"socket-inet\"]}" | send >out &&
	resp s3 | jq -e ".result.stdout == \"socket-inet ok\\n\"" &&
	proxy_stop
'

test_expect_success ROOT 'a fork bomb, run as an unprivileged user, fizzles' '
	sed "s/\"limits\"/\"run_as\": {\"uid\": 65534, \"gid\": 65534}, \"limits\"/" pod.json >pod2.json &&
	mv pod2.json pod.json &&
	proxy_start &&
	req fb run "{\"argv\":[\"try-syscall\",\"fork-bomb\",\"5000\"],\"timeout\":10}" | send >out &&
	resp fb | jq -r .result.stdout >got &&
	n=$(sed -n "s/^fork-bomb //p" got) &&
	test "$n" -lt 5000 &&
	sleep 0.5 &&
	! pgrep -u 65534 try-syscall &&
	req id run "{\"argv\":[\"id\",\"-u\"]}" | send >out &&
	resp id | jq -e ".result.stdout == \"65534\\n\"" &&
	proxy_stop
'

test_expect_success ROOT 'under run_as, what the proxy makes is that user'"'"'s, for commands to change' '
	proxy_start &&
	{
		req w1 write "{\"path\":\"made.txt\",\"content\":\"x\"}"
		req w2 write "{\"path\":\"added.txt\",\"content\":\"x\",\"mode\":\"append\"}"
		req w3 mkdir "{\"path\":\"made-dir\"}"
	} | send >out &&
	test "$(jq -s "map(select(.ok)) | length" out)" = 3 &&
	req w4 run "{\"argv\":[\"touch\",\"made.txt\",\"added.txt\",\"made-dir/in\"]}" |
	    send >out &&
	resp w4 | jq -e ".result.exit == 0" &&
	test "$(stat -c %u:%g root/made.txt root/added.txt root/made-dir | sort -u)" = 65534:65534 &&
	proxy_stop
'

test_done
