#!/bin/sh
test_description='nucleus-proxy: all a command starts ends with it, before its outcome: a setsid chain, a double-forked daemon, on exit and on timeout; orphans are reaped; a command that cannot have a PID namespace of its own does not run'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-proxy.sh"

# No process whose command line matches $1 (right now: no waiting).
gone() {
	! pgrep -f "$1" >&2
}

test_expect_success 'setup: a local_dev pod, and the scripts (sh FILE runs)' '
	proxy_setup local_dev "\"limits\": {\"commands\": 4}" &&
	cat >root/chain.sh <<-\EOF &&
	# chain.sh N [top|hold]: N levels, each in a session of its own
	# started by the one before, which waits for it; the last writes
	# to late.txt (once before it says it started) until it is killed.
	# The top waits for the last to start, says so, then exits (top)
	# or sleeps on (hold).
	n=$1
	if [ "$n" -eq 0 ]; then
		echo x >>late.txt
		: >deep
		while :; do echo x >>late.txt; sleep 0.1; done
	fi
	setsid sh chain.sh $((n - 1)) &
	if [ -z "$2" ]; then
		wait
		exit 0
	fi
	i=0
	while [ ! -e deep ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i + 1)); done
	[ -e deep ] && echo deep
	[ "$2" = hold ] && sleep 3600
	exit 0
	EOF
	cat >root/daemon.sh <<-\EOF &&
	# A daemon the classic way: a subshell starts it and exits at once.
	( setsid sleep 3520 & )
	echo started
	EOF
	cat >root/orphans.sh <<-\EOF &&
	# 30 children that end at once as orphans; none may stay a zombie.
	for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 \
	    21 22 23 24 25 26 27 28 29 30; do
		( exec -a nucleus-orphan-t2019 true & )
	done
	i=0
	while [ $i -lt 40 ] &&
	    ps -eo stat=,args= | grep -q "^Z.*nucleus-orphan-t2019"; do
		sleep 0.05
		i=$((i + 1))
	done
	ps -eo stat=,comm= | grep -c "^Z.*true$"
	exit 0
	EOF
	proxy_start
'

test_expect_success 'a 40-deep setsid chain is gone when the outcome of the command that started it is recorded' '
	test_when_finished "pkill -KILL -f \"sh chain.sh\" || :" &&
	req c1 run "{\"argv\":[\"sh\",\"chain.sh\",\"40\",\"top\"],\"timeout\":60}" | send >out &&
	resp c1 | jq -e ".ok and .result.exit == 0 and .result.stdout == \"deep\\n\"" &&
	gone "sh chain.sh" &&
	test -s root/late.txt &&
	seq=$(resp c1 | jq .audit.seq) &&
	sed -n "$((seq + 1))p" "$(proxy_log)" | jq -e ".event == \"outcome\" and .id == \"c1\" and .exit == 0"
'

test_expect_success 'so is a double-forked daemon' '
	test_when_finished "pkill -KILL -f \"^sleep 3520$\" || :" &&
	req d1 run "{\"argv\":[\"sh\",\"daemon.sh\"]}" | send >out &&
	resp d1 | jq -e ".ok and .result.stdout == \"started\\n\"" &&
	gone "^sleep 3520$"
'

test_expect_success 'and the chain of a command killed at its timeout' '
	test_when_finished "pkill -KILL -f \"sh chain.sh\" || :" &&
	rm -f root/deep &&
	req t1 run "{\"argv\":[\"sh\",\"chain.sh\",\"40\",\"hold\"],\"timeout\":5}" | send >out &&
	resp t1 | jq -e ".error.kind == \"timeout\" and .error.timed_out and .error.stdout == \"deep\\n\"" &&
	gone "sh chain.sh" &&
	seq=$(resp t1 | jq .audit.seq) &&
	sed -n "$((seq + 1))p" "$(proxy_log)" | jq -e ".status == \"timeout\""
'

test_expect_success 'orphans are reaped while their command runs: no zombie stays' '
	req z1 run "{\"argv\":[\"sh\",\"orphans.sh\"]}" | send >out &&
	resp z1 | jq -e ".ok and .result.stdout == \"0\\n\""
'

test_expect_success 'the proxy answers, and its log verifies' '
	req e1 run "{\"argv\":[\"echo\",\"alive\"]}" | send >out &&
	resp e1 | jq -e ".result.stdout == \"alive\\n\"" &&
	proxy_alive &&
	proxy_stop &&
	verify_log
'

# A user namespace of the test's own in which no other can be made, and
# no capability: neither a PID namespace alone nor one with a user
# namespace of its own can be made for a command.
test_lazy_prereq USERNS_LIMIT '
	unshare -Ur sh -c "echo 0 >/proc/sys/user/max_user_namespaces" &&
	command -v setpriv
'

# The proxy there, as proxy_start starts it.
proxy_start_confined() {
	rm -f sock
	unshare -Ur sh -c "echo 0 >/proc/sys/user/max_user_namespaces &&
	    exec setpriv --inh-caps=-all --bounding-set=-all \
	    nucleus-proxy -p pod.json -l \"$PWD/sock\"" >proxy.out 2>proxy.err &
	echo $! >proxy.pid
	test_when_finished proxy_stop &&
	test_wait_socket "the proxy" proxy.pid sock 10
}

test_expect_success ROOT,USERNS_LIMIT 'a command that cannot have a PID namespace of its own does not run: io_error, recorded' '
	proxy_start_confined &&
	req n1 run "{\"argv\":[\"echo\",\"contained\"]}" | send >out &&
	resp n1 | jq -e ".error.kind == \"io_error\" and (.error.message | test(\"^echo: not run: no PID namespace of its own\"))" &&
	seq=$(resp n1 | jq .audit.seq) &&
	sed -n "$((seq + 1))p" "$(proxy_log)" | jq -e ".event == \"outcome\" and .status == \"error\" and (.reason | test(\"no PID namespace\"))" &&
	req n2 read "{\"path\":\"daemon.sh\"}" | send >out &&
	resp n2 | jq -e ".ok"
'

test_done
