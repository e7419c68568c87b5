# lib-mcp.sh: what the tests of nucleus-mcp share.  Source after
# test-lib.sh, lib-authority.sh and lib-node.sh.
#
#	mcp_sdk_setup		the official MCP TypeScript SDK (t/mcp's
#				package-lock.json) installed with npm ci in
#				$NUCLEUS_BUILD/mcp, once per lock file (the
#				script is skipped when node or npm is missing)
#	mcp_client SCENARIO [ARG...]	client.mjs against nucleus-mcp for
#				pod p-mcp, as agent-7, the authority auth/
#				asked (MCP_OPTS: more options)
#	mcp_raw < LINES		nucleus-mcp for p-mcp, the lines written raw

test_lazy_prereq NODEJS 'command -v node && command -v npm'

if ! test_have_prereq NODEJS; then
	test_skip_all "node and npm are missing (scripts/install-deps installs them)"
fi
mcp_script=$NUCLEUS_BUILD/mcp/client.mjs

mcp_sdk_setup() {
	sdk=$NUCLEUS_BUILD/mcp
	mkdir -p "$sdk" &&
	(
		# One install at a time, and only when the lock changed.
		flock 9 &&
		if ! cmp -s "$TEST_DIRECTORY/mcp/package-lock.json" "$sdk/installed.lock" ||
		    ! test -d "$sdk/node_modules/@modelcontextprotocol/sdk"; then
			cp "$TEST_DIRECTORY/mcp/package.json" "$TEST_DIRECTORY/mcp/package-lock.json" "$sdk/" &&
			(cd "$sdk" && npm ci --ignore-scripts --no-audit --no-fund >npm.log 2>&1) &&
			cp "$sdk/package-lock.json" "$sdk/installed.lock"
		fi &&
		# The script beside its node_modules (ES modules resolve
		# from where the script is).
		cp "$TEST_DIRECTORY/mcp/client.mjs" "$sdk/client.mjs.$$" &&
		mv -f "$sdk/client.mjs.$$" "$sdk/client.mjs"
	) 9>"$NUCLEUS_BUILD/mcp.lock" || {
		cat "$sdk/npm.log" >&2
		return 1
	}
}

mcp_client() {
	MCP_SERVER=$(command -v nucleus-mcp) \
	MCP_ARGS=$(jq -cn --args '$ARGS.positional' -- -l "$PWD/n/node.sock" -k agent.key -A "$PWD/auth/request.sock" -w 60 $MCP_OPTS p-mcp) \
	    timeout 120 node "$mcp_script" "$@"
}

mcp_raw() {
	timeout 60 nucleus-mcp -l "$PWD/n/node.sock" -k agent.key -A "$PWD/auth/request.sock" -w 60 $MCP_OPTS p-mcp
}

# A pod for the tests: files, searches and commands allowed, git push
# needing an approval, sensitive files blocked; /work empty.
mcp_policy='{"v":1,"profile":"release","capabilities":{"web_search":"never","web_fetch":"never"},"obligations":["git_push","create_pr"],"paths":{"presets":["sensitive"]}}'

mcp_pod_create() {
	printf '{"v":1,"name":"p-mcp","policy":%s,"agents":["agent-7"],"resources":{"memory_mib":256,"pids":64,"scratch_mib":32}}\n' \
	    "$mcp_policy" >spec-mcp.json &&
	nucleus-node pod -j -k admin.key -l n/node.sock create spec-mcp.json >out &&
	jq -e ".ok and .result.state == \"running\"" out >/dev/null
}
