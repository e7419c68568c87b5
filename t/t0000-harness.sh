#!/bin/sh
test_description='the test harness itself: TAP output and exit statuses'
. "$(dirname "$0")/test-lib.sh"

# Write a sub-test script named $1 whose body is standard input.
write_sub() {
	{
		echo "#!/bin/sh"
		echo "test_description='sub'"
		echo ". \"\$TEST_DIRECTORY/test-lib.sh\""
		cat
		echo "test_done"
	} >"$1.sh" && chmod +x "$1.sh"
}

test_expect_success 'a passing test prints ok and exits 0' '
	write_sub pass <<-\EOT &&
	test_expect_success "true is true" "true"
	EOT
	./pass.sh >out &&
	printf "ok 1 - true is true\n1..1\n" >expect &&
	test_cmp expect out
'

test_expect_success 'a failing test prints not ok, its body, and exits 1' '
	write_sub fail <<-\EOT &&
	test_expect_success "false is true" "echo visible && false"
	EOT
	test_expect_code 1 ./fail.sh >out &&
	grep "^not ok 1 - false is true$" out &&
	grep "^# visible$" out &&
	grep "^1..1$" out
'

test_expect_success 'a failure is noted for the end of the run: the test, its output, its daemons'"'"' last words' '
	write_sub noted <<-\EOT &&
	test_expect_success "passes" "true"
	test_expect_success "fails" "echo said-before && echo daemon-said >d.err && false"
	EOT
	f=$PWD/noted.log &&
	test_expect_code 1 env NUCLEUS_TEST_FAILURES="$f" ./noted.sh >out &&
	grep "^=== noted 2 - fails$" "$f" &&
	! grep "passes" "$f" &&
	grep "^said-before$" "$f" &&
	grep -x -e "--- d.err (last lines)" "$f" &&
	grep "^daemon-said$" "$f" &&
	"$TEST_DIRECTORY/failures-say" "$f" >said &&
	tail -n 1 said | grep "^daemon-said$" &&
	sed -n 2p said | grep "^=== noted 2 - fails$"
'

test_expect_success 'a known breakage is TODO and does not fail the script' '
	write_sub todo <<-\EOT &&
	test_expect_failure "a known bug" "false"
	EOT
	./todo.sh >out &&
	grep "^not ok 1 - a known bug # TODO known breakage$" out
'

test_expect_success 'a fixed known breakage says so' '
	write_sub fixed <<-\EOT &&
	test_expect_failure "a fixed bug" "true"
	EOT
	./fixed.sh >out &&
	grep "^ok 1 - a fixed bug # TODO known breakage vanished$" out
'

test_expect_success 'a missing prerequisite skips with its name' '
	write_sub prereq <<-\EOT &&
	test_lazy_prereq NEVER false
	test_set_prereq ALWAYS
	test_expect_success NEVER "needs NEVER" "false"
	test_expect_success ALWAYS "needs ALWAYS" "true"
	test_expect_success !NEVER "needs not NEVER" "true"
	EOT
	./prereq.sh >out &&
	grep "^ok 1 # skip needs NEVER (missing NEVER)$" out &&
	grep "^ok 2 - needs ALWAYS$" out &&
	grep "^ok 3 - needs not NEVER$" out
'

test_expect_success 'test_skip_all skips the whole script' '
	write_sub skipall <<-\EOT &&
	test_skip_all "no widget here"
	EOT
	./skipall.sh >out &&
	grep "^1..0 # SKIP no widget here$" out
'

test_expect_success 'test_must_fail refuses success and signals' '
	test_must_fail false &&
	! test_must_fail true 2>/dev/null &&
	! test_must_fail sh -c "kill -9 \$\$" 2>/dev/null &&
	! test_must_fail sh -c "exit 127" 2>/dev/null
'

test_expect_success 'test_expect_code wants the exact status' '
	test_expect_code 2 sh -c "exit 2" &&
	! test_expect_code 1 sh -c "exit 2" 2>/dev/null
'

test_expect_success 'a broken &&-chain fails, naming the test, and runs none of it' '
	write_sub chain <<-\EOT &&
	test_expect_success "well chained" "true &&
		true"
	test_expect_success "broken" "echo ran >ran-head
		echo ran >ran-tail"
	test_expect_success "after it" "true"
	EOT
	test_expect_code 1 ./chain.sh >out &&
	grep "^ok 1 - well chained$" out &&
	grep "^not ok 2 - broken$" out &&
	grep "^# broken &&-chain .* in test 2: broken$" out &&
	grep "^ok 3 - after it$" out &&
	! test -e "$NUCLEUS_BUILD/trash/chain/ran-head" &&
	# The lint itself ran the tail, but only builtins reach it.
	NUCLEUS_TEST_CHAIN_LINT=0 ./chain.sh >out &&
	grep "^ok 2 - broken$" out
'

test_expect_success 'the lint sees a background job and an && ... || tail' '
	write_sub chain2 <<-\EOT &&
	test_expect_success "bg" "sleep 0 &
		true"
	test_expect_success "or" "true && false ||
		true"
	test_expect_success "grouped" "{ sleep 0 & } && { true && false || true; }"
	EOT
	test_expect_code 1 ./chain2.sh >out &&
	grep "^not ok 1 - bg$" out &&
	grep "^not ok 2 - or$" out &&
	grep "^ok 3 - grouped$" out
'

test_expect_success 'test_when_finished runs after a passing and a failing body, newest first' '
	write_sub finished <<-\EOT &&
	test_expect_success "passes" "
		test_when_finished \"echo first >>log\" &&
		test_when_finished \"echo second >>log\" &&
		echo body >>log"
	test_expect_success "fails" "
		test_when_finished \"echo cleaned >>log\" &&
		false"
	test_expect_success "calls exit" "
		test_when_finished \"echo after exit >>log\" &&
		exit 0"
	test_expect_success "the log" "printf \"body\nsecond\nfirst\ncleaned\nafter exit\n\" >expect && test_cmp expect log"
	EOT
	test_expect_code 1 ./finished.sh >out &&
	grep "^ok 1 - passes$" out &&
	grep "^not ok 2 - fails$" out &&
	grep "^not ok 3 - calls exit$" out &&
	grep "^ok 4 - the log$" out
'

test_expect_success 'a failing test_when_finished fails the test; test_when_failed runs only on failure' '
	write_sub cleanfail <<-\EOT &&
	test_expect_success "cleanup fails" "test_when_finished false && true"
	test_expect_success "passes" "test_when_failed \"echo no >>log\" && true"
	test_expect_success "fails" "test_when_failed \"echo yes >>log\" && false"
	test_expect_success "the log" "echo yes >expect && test_cmp expect log"
	EOT
	test_expect_code 1 ./cleanfail.sh >out &&
	grep "^not ok 1 - cleanup fails$" out &&
	grep "^# test_when_finished: failed: false$" out &&
	grep "^ok 2 - passes$" out &&
	grep "^not ok 3 - fails$" out &&
	grep "^ok 4 - the log$" out
'

test_expect_success 'a daemon of a failed test is stopped before the next test' '
	write_sub daemon <<-\EOT &&
	. "$TEST_DIRECTORY/lib-proxy.sh"
	test_expect_success "setup" "proxy_setup local_dev"
	test_expect_success "starts, then fails" "proxy_start && cp proxy.pid old.pid && false"
	test_expect_success "it is gone" "! kill -0 \$(cat old.pid) && ! test -e proxy.pid"
	test_expect_success "a passing start serves on" "proxy_start"
	test_expect_success "it still runs" "kill -0 \$(cat proxy.pid) && proxy_stop"
	EOT
	test_expect_code 1 ./daemon.sh >out &&
	grep "^not ok 2 - starts, then fails$" out &&
	grep "^ok 3 - it is gone$" out &&
	grep "^ok 5 - it still runs$" out
'

test_expect_success 'test_wait_for gives up after its bound, saying what it waited for' '
	start=$(date +%s) &&
	test_expect_code 1 test_wait_for "a thing that never comes" 1 false 2>err &&
	test $(($(date +%s) - start)) -le 3 &&
	grep "gave up after 1 s waiting for a thing that never comes" err &&
	test_wait_for "a directory" 5 test -d . &&
	{ (sleep 0.2; exit 3) & } &&
	test_expect_code 3 test_wait_exit "a child" 5 $! &&
	{ sleep 30 & } &&
	pid=$! &&
	test_when_finished "kill $pid" &&
	test_expect_code 124 test_wait_exit "a sleeper" 1 $pid 2>err &&
	grep "waiting for a sleeper" err
'

test_expect_success '--run selects tests; the others are skipped' '
	write_sub run <<-\EOT &&
	for i in 1 2 3 4 5 6; do
		test_expect_success "t$i" "true"
	done
	EOT
	./run.sh --run=1-3,5 >out &&
	grep -c "^ok [0-9]* - t" out >n && echo 4 >four && test_cmp four n &&
	grep "^ok 4 # skip t4 (--run)$" out &&
	grep "^ok 6 # skip t6 (--run)$" out &&
	./run.sh --run="!4" >out &&
	grep "^ok 4 # skip t4 (--run)$" out &&
	grep "^ok 5 - t5$" out &&
	./run.sh -r "2-,!5" >out &&
	grep "^ok 1 # skip" out && grep "^ok 5 # skip" out && grep "^ok 6 - t6$" out &&
	test_expect_code 2 ./run.sh --run=x 2>err &&
	grep "bad selector" err
'

# prove runs each script as a program: one without its execute bit is
# not a failed test but a run that stops there, every later script unrun.
test_expect_success 'every test script can be run as a program' '
	for f in "$TEST_DIRECTORY"/t[0-9]*.sh
	do
		test -x "$f" || { echo "$f: not executable"; return 1; }
		head -1 "$f" | grep -q "^#!/bin/sh" ||
			{ echo "$f: no #!/bin/sh"; return 1; }
	done
'

test_done
