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
	test_expect_success "false is true" "echo visible; false"
	EOT
	test_expect_code 1 ./fail.sh >out &&
	grep "^not ok 1 - false is true$" out &&
	grep "^# visible$" out &&
	grep "^1..1$" out
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
	! test_must_fail sh -c "kill -9 \$\$" 2>/dev/null
'

test_expect_success 'test_expect_code wants the exact status' '
	test_expect_code 2 sh -c "exit 2" &&
	! test_expect_code 1 sh -c "exit 2" 2>/dev/null
'

test_done
