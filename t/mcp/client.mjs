// The official MCP TypeScript SDK's client, driving nucleus-mcp for the
// t60xx tests.  Usage: node client.mjs SCENARIO [ARG...], with
// MCP_SERVER (the program) and MCP_ARGS (a JSON array of its arguments)
// in the environment.  Each scenario prints JSON lines the test checks
// with jq; a failure of the SDK itself (a schema it rejects, a broken
// connection) is an exception: status 1.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { writeFileSync, existsSync } from "node:fs";

const say = (o) => process.stdout.write(JSON.stringify(o) + "\n");

async function connect() {
	const transport = new StdioClientTransport({
		command: process.env.MCP_SERVER,
		args: JSON.parse(process.env.MCP_ARGS),
		stderr: "inherit",
	});
	const client = new Client({ name: "nucleus-t60xx", version: "1.0.0" });
	const errors = [];
	client.onerror = (e) => errors.push(String(e.message || e));
	await client.connect(transport);
	return { client, transport, errors };
}

// A call's outcome, as the test reads it: the result, or the
// JSON-RPC error's code and message.
async function call(client, name, args, opts) {
	try {
		const r = await client.callTool({ name, arguments: args },
		    undefined, opts);
		return { name, result: r };
	} catch (e) {
		return { name, code: e.code, message: e.message };
	}
}

// A file that appears when the test says so (the operator has acted).
function until(file, ms) {
	return new Promise((resolve, reject) => {
		const t0 = Date.now();
		const poll = () => {
			if (existsSync(file)) return resolve();
			if (Date.now() - t0 > ms)
				return reject(new Error("no " + file));
			setTimeout(poll, 50);
		};
		poll();
	});
}

const scenarios = {
	// initialize and tools/list: the SDK checks every schema.
	async list() {
		const { client } = await connect();
		const { tools } = await client.listTools();
		say({
			server: client.getServerVersion(),
			capabilities: client.getServerCapabilities(),
			instructions: client.getInstructions(),
			tools,
		});
		await client.close();
	},
	// Each call of a JSON array [[name, args], ...], in order.
	async calls(list) {
		const { client } = await connect();
		await client.listTools();	/* output schemas, for checking */
		for (const [name, args] of JSON.parse(list))
			say(await call(client, name, args));
		await client.close();
	},
	// A call that needs an approval: progress asked for; the test
	// decides while it waits.
	async approval(name, args) {
		const { client } = await connect();
		await client.listTools();
		const progress = [];
		const r = await call(client, name, JSON.parse(args), {
			onprogress: (p) => progress.push(p),
			timeout: 120000, resetTimeoutOnProgress: true,
		});
		say({ ...r, progress });
		await client.close();
	},
	// A call cancelled while it waits for an approval: the SDK sends
	// notifications/cancelled; the server answers nothing for it and
	// serves the next request.
	async cancel(name, args, pending) {
		const { client, errors } = await connect();
		await client.listTools();
		const ac = new AbortController();
		const progress = [];
		const p = call(client, name, JSON.parse(args), {
			signal: ac.signal,
			onprogress: (x) => progress.push(x),
			timeout: 120000,
		});
		await until(pending, 60000);
		ac.abort("the user changed their mind");
		const r = await p;
		const ping = await client.ping();
		const after = await call(client, "list_directory", {});
		// A late answer to the cancelled request would be an error
		// here ("unknown message ID"): give one time to come.
		await new Promise((res) => setTimeout(res, 300));
		say({ cancelled: r, progress: progress.length, ping, after,
		    errors });
		await client.close();
	},
	// Bad input: an unknown tool, arguments against the schema, a
	// malformed line and a request of an unknown method written raw;
	// the server answers each and keeps serving.
	async bad() {
		const { client, transport, errors } = await connect();
		await client.listTools();
		say(await call(client, "no_such_tool", {}));
		say(await call(client, "read_file", { path: 7 }));
		say(await call(client, "read_file", {}));
		say(await call(client, "run_command", { argv: "ls -l" }));
		say(await call(client, "stat", { path: "a", extra: 1 }));
		// What the server writes, as it writes it: the SDK takes an
		// answer of id null (JSON-RPC's for a line it cannot read)
		// as a transport error, so the raw lines are read here too.
		let out = "";
		transport._process.stdout.on("data", (d) => { out += d; });
		transport._process.stdin.write("{this is not json\n");
		transport._process.stdin.write(JSON.stringify({
		    jsonrpc: "2.0", id: "raw-1", method: "resources/list" }) +
		    "\n");
		transport._process.stdin.write("[1,2]\n");
		const ping = await client.ping();
		const after = await call(client, "list_directory", {});
		const raw = out.split("\n").filter((l) => l !== "")
		    .map((l) => JSON.parse(l))
		    .filter((m) => m.id === null || m.id === "raw-1");
		say({ raw, ping, after, errors: errors.length });
		await client.close();
	},
};

const [scenario, ...rest] = process.argv.slice(2);
try {
	await scenarios[scenario](...rest);
} catch (e) {
	process.stderr.write("client.mjs: " + (e.stack || e) + "\n");
	process.exit(1);
}
