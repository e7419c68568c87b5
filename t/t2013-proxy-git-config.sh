#!/bin/sh
test_description='nucleus-proxy: git runs no program the agent configured'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-proxy.sh"

# The agent can write the repository's .git/config and, while HOME was
# the work root, $HOME/.gitconfig.  Each test writes one key that runs a
# program into both, runs an allowed git command through the proxy, and
# checks that the program, root/evil, left no marker.

# run ID ARGV-JSON [STDIN]: one command through the proxy, its response
# in out.
run() {
	req "$1" run "{\"argv\":$2${3:+,\"stdin\":\"$3\"}}" | send >out
}

# hostile FILE KEY VALUE: the agent's configuration, undone after the test.
hostile() {
	git config -f "root/$1" "$2" "$3" &&
	test_when_finished "git config -f root/$1 --unset-all $2; rm -f root/PWNED-*"
}

# ran NAME: root/evil NAME ran.
ran() {
	test -e "root/PWNED-$1"
}

# In each place the agent can write git's configuration.
places=".git/config .gitconfig"
root=$PWD/root

test_expect_success 'setup: a local_dev pod that may push, a repository and its remote' '
	proxy_setup "{\"profile\": \"local_dev\", \"capabilities\": {\"git_push\": \"always\"}}" &&
	printf "#!/bin/sh\ntouch \"%s/PWNED-\$1\"\nexit 1\n" "$root" >root/evil &&
	chmod +x root/evil &&
	git init -q -b main root &&
	echo one >root/f &&
	echo SECRET=1 >root/.env &&
	git -C root add f &&
	git -C root -c user.name=t -c user.email=t@t commit -q -m one &&
	git init -q --bare root/origin.git &&
	git -C root remote add origin ./origin.git &&
	git -C root config user.name agent &&
	git -C root config user.email agent@example.invalid &&
	echo two >>root/f &&
	proxy_start
'

test_expect_success 'git reads no global configuration, and HOME is not the work root' '
	test_when_finished "rm -f root/.gitconfig" &&
	git config -f root/.gitconfig user.name from-home &&
	run g1 "[\"git\",\"config\",\"--show-origin\",\"--list\"]" &&
	resp g1 | jq -r .result.stdout >got &&
	grep -F "agent@example.invalid" got &&
	! grep -F "from-home" got &&
	! grep -F ".gitconfig" got
'

test_expect_success 'core.fsmonitor: git status' '
	for f in $places
	do
		hostile $f core.fsmonitor "$root/evil fsmonitor" &&
		run g2 "[\"git\",\"status\"]" &&
		resp g2 | jq -e ".result.exit == 0" &&
		! ran fsmonitor || return 1
	done
'

test_expect_success 'include.path in .git/config, naming a file that sets core.fsmonitor' '
	test_when_finished "rm -f root/evil.cfg" &&
	git config -f root/evil.cfg core.fsmonitor "$root/evil include" &&
	hostile .git/config include.path "$root/evil.cfg" &&
	run g3 "[\"git\",\"status\"]" &&
	! ran include
'

test_expect_success 'core.hooksPath and .git/hooks: git commit' '
	test_when_finished "rm -rf root/hooks root/.git/hooks/pre-commit; git -C root reset -q --soft HEAD@{1} || :" &&
	mkdir root/hooks &&
	printf "#!/bin/sh\nexec %s/evil hook\n" "$root" >root/hooks/pre-commit &&
	chmod +x root/hooks/pre-commit &&
	cp root/hooks/pre-commit root/.git/hooks/pre-commit &&
	run g4 "[\"git\",\"commit\",\"--allow-empty\",\"-q\",\"-m\",\"x\"]" &&
	! ran hook &&
	for f in $places
	do
		hostile $f core.hooksPath "$root/hooks" &&
		run g5 "[\"git\",\"commit\",\"--allow-empty\",\"-q\",\"-m\",\"x\"]" &&
		! ran hook || return 1
	done
'

test_expect_success 'core.editor: git commit with no message fails, running nothing' '
	for f in $places
	do
		hostile $f core.editor "$root/evil editor" &&
		run g6 "[\"git\",\"commit\",\"--allow-empty\"]" &&
		resp g6 | jq -e ".result.exit != 0" &&
		! ran editor || return 1
	done
'

test_expect_success 'core.sshCommand: git ls-remote over ssh' '
	for f in $places
	do
		hostile $f core.sshCommand "$root/evil ssh" &&
		run g7 "[\"git\",\"ls-remote\",\"ssh://example.invalid/x\"]" &&
		! ran ssh || return 1
	done
'

test_expect_success 'credential.helper and core.askPass: git credential fill' '
	for f in $places
	do
		hostile $f credential.helper "$root/evil helper" &&
		hostile $f credential.https://example.invalid.helper "$root/evil urlhelper" &&
		hostile $f core.askPass "$root/evil askpass" &&
		run g8 "[\"git\",\"credential\",\"fill\"]" \
		    "protocol=https\\nhost=example.invalid\\n\\n" &&
		resp g8 | jq -e ".result.exit != 0" &&
		! ran helper && ! ran urlhelper && ! ran askpass || return 1
	done
'

test_expect_success 'diff.external: git diff' '
	for f in $places
	do
		hostile $f diff.external "$root/evil external" &&
		run g9 "[\"git\",\"diff\"]" &&
		resp g9 | jq -e ".result.exit == 0 and (.result.stdout | test(\"[+]two\"))" &&
		! ran external || return 1
	done
'

test_expect_success 'a diff driver'"'"'s command and textconv: git diff, log, show, blame' '
	test_when_finished "rm -f root/.gitattributes" &&
	echo "* diff=x" >root/.gitattributes &&
	for f in $places
	do
		hostile $f diff.x.command "$root/evil command" &&
		hostile $f diff.x.textconv "$root/evil textconv" &&
		run g10 "[\"git\",\"diff\"]" &&
		run g11 "[\"git\",\"log\",\"-p\"]" &&
		run g12 "[\"git\",\"show\"]" &&
		run g13 "[\"git\",\"blame\",\"f\"]" &&
		resp g13 | jq -e ".result.exit == 0" &&
		! ran command && ! ran textconv || return 1
	done
'

test_expect_success 'gpg.program with commit.gpgSign: git commit' '
	test_when_finished "git -C root reset -q --soft main@{1} || :; rm -f root/gpg" &&
	printf "#!/bin/sh\nexec %s/evil gpg\n" "$root" >root/gpg &&
	chmod +x root/gpg &&
	for f in $places
	do
		hostile $f commit.gpgSign true &&
		hostile $f gpg.program "$root/gpg" &&
		run g14 "[\"git\",\"commit\",\"--allow-empty\",\"-q\",\"-m\",\"x\"]" &&
		! ran gpg || return 1
	done
'

test_expect_success 'protocol.ext.allow: an ext:: remote runs nothing' '
	for f in $places
	do
		hostile $f protocol.ext.allow always &&
		run g15 "[\"git\",\"ls-remote\",\"ext::$root/evil ext\"]" &&
		resp g15 | jq -e ".result.exit != 0" &&
		! ran ext || return 1
	done
'

test_expect_success 'remote.origin.uploadpack and receivepack: git fetch, git push' '
	for f in $places
	do
		# In the repository, which nothing overrides: git does not
		# start; in .gitconfig, which git does not read: it runs.
		if test $f = .git/config
		then
			check=".error.kind == \"io_error\""
		else
			check=".result.exit == 0"
		fi &&
		hostile $f remote.origin.uploadpack "$root/evil uploadpack" &&
		hostile $f remote.origin.receivepack "$root/evil receivepack" &&
		run g16 "[\"git\",\"fetch\",\"origin\"]" &&
		resp g16 | jq -e "$check" &&
		run g17 "[\"git\",\"push\",\"origin\",\"main\"]" &&
		resp g17 | jq -e "$check" &&
		! ran uploadpack && ! ran receivepack &&
		git config -f root/$f --unset-all remote.origin.uploadpack &&
		git config -f root/$f --unset-all remote.origin.receivepack ||
		return 1
	done
'

test_expect_success 'an alias in the configuration: git p is not a push, nor a program' '
	test_when_finished "git -C root update-ref -d refs/heads/aliased; git -C root/origin.git update-ref -d refs/heads/aliased || :" &&
	git -C root branch aliased &&
	for f in $places
	do
		hostile $f alias.p "push origin aliased" &&
		hostile $f alias.x "!$root/evil alias" &&
		run g23 "[\"git\",\"p\"]" &&
		resp g23 | jq -e ".result.exit != 0 and .audit" &&
		run g24 "[\"git\",\"x\"]" &&
		resp g24 | jq -e ".result.exit != 0" &&
		! git -C root/origin.git rev-parse -q --verify refs/heads/aliased &&
		! ran alias || return 1
	done &&
	run g25 "[\"git\",\"status\"]" &&
	resp g25 | jq -e ".result.exit == 0"
'

test_expect_success 'refused: -c include.path, -c of a program key, --no-index, env -S' '
	run g18 "[\"git\",\"-c\",\"include.path=$root/evil.cfg\",\"status\"]" &&
	resp g18 | jq -e ".error.kind == \"command_denied\"" &&
	run g19 "[\"git\",\"-c\",\"core.fsmonitor=$root/evil c\",\"status\"]" &&
	resp g19 | jq -e ".error.kind == \"command_denied\"" &&
	run g20 "[\"git\",\"diff\",\"--no-index\",\"--\",\"/dev/null\",\".env\"]" &&
	resp g20 | jq -e ".error.kind == \"command_denied\"" &&
	run g21 "[\"env\",\"-S\",\"sh -c id\"]" &&
	resp g21 | jq -e ".error.kind == \"command_denied\"" &&
	! ran c
'

# Driver keys are named per driver: the proxy asks git which the
# configuration defines, just before the command, and forces each off.
test_expect_success 'a filter driver named in .gitattributes: git diff, add, checkout' '
	test_when_finished "rm -f root/.gitattributes; git -C root reset -q; git -C root show HEAD:f >root/f; echo two >>root/f" &&
	echo "* filter=x" >root/.gitattributes &&
	for f in $places
	do
		hostile $f filter.x.clean "$root/evil clean" &&
		hostile $f filter.x.smudge "$root/evil smudge" &&
		hostile $f filter.x.process "$root/evil process" &&
		hostile $f filter.x.required true &&
		run g22 "[\"git\",\"diff\"]" &&
		resp g22 | jq -e ".result.exit == 0" &&
		run g26 "[\"git\",\"add\",\"f\"]" &&
		resp g26 | jq -e ".result.exit == 0" &&
		run g27 "[\"git\",\"checkout\",\"HEAD\",\"--\",\"f\"]" &&
		resp g27 | jq -e ".result.exit == 0" &&
		! ran clean && ! ran smudge && ! ran process || return 1
	done
'

test_expect_success 'a filter driver defined in a file .git/config includes' '
	test_when_finished "rm -f root/.gitattributes root/evil.cfg" &&
	echo "* filter=y.z" >root/.gitattributes &&
	git config -f root/evil.cfg filter.y.z.clean "$root/evil included" &&
	hostile .git/config include.path "$root/evil.cfg" &&
	run g28 "[\"git\",\"diff\"]" &&
	resp g28 | jq -e ".result.exit == 0" &&
	! ran included
'

test_expect_success 'more driver keys than the proxy forces off: the command does not start' '
	test_when_finished "rm -f root/many.cfg" &&
	i=0 &&
	while test $i -lt 64
	do
		git config -f root/many.cfg "merge.d$i.driver" "$root/evil many" &&
		i=$((i + 1)) || return 1
	done &&
	hostile .git/config include.path "$root/many.cfg" &&
	run g35 "[\"git\",\"status\"]" &&
	resp g35 | jq -e ".result.exit == 0" &&
	git config -f root/many.cfg merge.d64.driver "$root/evil many" &&
	run g36 "[\"git\",\"status\"]" &&
	resp g36 | jq -e ".error.kind == \"io_error\"" &&
	! ran many
'

test_expect_success 'a merge driver named in .gitattributes: git merge conflicts, runs nothing' '
	test_when_finished "rm -rf root/m" &&
	git init -q -b main root/m &&
	echo "* merge=m" >root/m/.gitattributes &&
	echo one >root/m/f &&
	git -C root/m add . &&
	git -C root/m -c user.name=t -c user.email=t@t commit -q -m one &&
	git -C root/m checkout -q -b side &&
	echo side >>root/m/f &&
	git -C root/m -c user.name=t -c user.email=t@t commit -q -am side &&
	git -C root/m checkout -q main &&
	echo main >>root/m/f &&
	git -C root/m -c user.name=t -c user.email=t@t commit -q -am main &&
	hostile m/.git/config merge.m.driver "$root/evil merge %O %A %B" &&
	run g29 "[\"git\",\"-C\",\"m\",\"-c\",\"user.name=t\",\"-c\",\"user.email=t@t\",\"merge\",\"side\"]" &&
	resp g29 | jq -e ".result.exit != 0" &&
	resp g29 | jq -r .result.stdout | grep -F "CONFLICT" &&
	! ran merge
'

test_expect_success 'a trailer command: git interpret-trailers' '
	hostile .git/config trailer.t.command "$root/evil trailer" &&
	run g30 "[\"git\",\"interpret-trailers\",\"--trailer\",\"t: v\"]" "x\\n" &&
	resp g30 | jq -e ".result.exit == 0" &&
	! ran trailer
'

test_expect_success 'core.gitProxy: a git:// remote runs no proxy command' '
	hostile .git/config core.gitProxy "$root/evil" &&
	run g31 "[\"git\",\"ls-remote\",\"git://127.0.0.1:9/x\"]" &&
	resp g31 | jq -e ".result.exit != 0" &&
	! ran ""
'

test_expect_success 'refused: subcommands and options that run a program whatever the configuration' '
	for argv in \
	    "[\"git\",\"help\",\"status\"]" \
	    "[\"git\",\"status\",\"--help\"]" \
	    "[\"git\",\"--help\"]" \
	    "[\"git\",\"difftool\"]" \
	    "[\"git\",\"mergetool\"]" \
	    "[\"git\",\"filter-branch\",\"--tree-filter\",\"id\"]" \
	    "[\"git\",\"remote-ext\",\"x\",\"sh -c id\"]" \
	    "[\"git\",\"bisect\",\"run\",\"id\"]" \
	    "[\"git\",\"submodule\",\"foreach\",\"id\"]" \
	    "[\"git\",\"submodule\",\"--quiet\",\"foreach\",\"id\"]" \
	    "[\"git\",\"rebase\",\"-x\",\"id\",\"main\"]" \
	    "[\"git\",\"rebase\",\"-ix\",\"id\",\"main\"]" \
	    "[\"git\",\"rebase\",\"-xid\",\"main\"]" \
	    "[\"git\",\"grep\",\"-O\",\"id\",\"one\"]" \
	    "[\"git\",\"grep\",\"-iOid\",\"one\"]" \
	    "[\"git\",\"grep\",\"--open-files-in-pager=id\",\"one\"]" \
	    "[\"git\",\"clone\",\"-u\",\"id\",\"origin.git\",\"c\"]" \
	    "[\"git\",\"clone\",\"-qu\",\"id\",\"origin.git\",\"c\"]" \
	    "[\"git\",\"clone\",\"-c\",\"filter.x.clean=id\",\"origin.git\",\"c\"]" \
	    "[\"git\",\"clone\",\"-qcfilter.x.clean=id\",\"origin.git\",\"c\"]" \
	    "[\"git\",\"clone\",\"--config=core.fsmonitor=id\",\"origin.git\",\"c\"]" \
	    "[\"git\",\"clone\",\"--template=t\",\"origin.git\",\"c\"]" \
	    "[\"git\",\"init\",\"--templ=t\",\"c\"]" \
	    "[\"git\",\"config\",\"filter.x.clean\",\"id\"]" \
	    "[\"git\",\"config\",\"--add\",\"merge.m.driver\",\"id\"]" \
	    "[\"git\",\"config\",\"--rename-section\",\"foo.x\",\"filter.x\"]" \
	    "[\"git\",\"config\",\"include.path\",\"evil.cfg\"]" \
	    "[\"git\",\"config\",\"submodule.s.update\",\"!id\"]" \
	    "[\"git\",\"config\",\"--file=.git/config\",\"core.pager\",\"id\"]"
	do
		run g32 "$argv" &&
		resp g32 | jq -e ".error.kind == \"command_denied\"" || {
			echo "not refused: $argv" && return 1
		}
	done &&
	run g33 "[\"git\",\"config\",\"user.name\",\"agent\"]" &&
	resp g33 | jq -e ".result.exit == 0" &&
	run g34 "[\"git\",\"cherry-pick\",\"-h\"]" &&
	resp g34 | jq -e ".result"
'

test_expect_success 'the proxy is alive, and its log verifies' '
	proxy_alive &&
	verify_log
'

test_done
