// scim_fast.mjs - a bare SCIM 2.0 endpoint that answers at once, for
// bench/scim_bench.sh only (never for tests: tests/integration/scim/ runs
// the real scimmy).  It exists because scimmy spends ~15-25 ms of Node's
// one thread per write (schema instances, validation), which caps any
// client at ~40-60 writes/s on the shared VM: this server shows what
// dirsync itself sustains.  Hand-written on purpose and kept tiny: only
// what dirsync sends (RFC 7644 3.3 POST, 3.5.2 PATCH add/replace/remove
// with a top-level path or `attr[value eq "x" or ...]`, 3.6 DELETE, 3.4.2
// list with startIndex/count and `attr eq "x"` filters), storage in
// memory, no ETags, no schema checks.  Same control endpoint as
// tests/integration/scim/server.mjs: /control/stats, /reset, /dump.
//
// Usage: node scim_fast.mjs PORT TOKEN_FILE PORT_FILE
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";

const [port, tokenFile, portFile] = process.argv.slice(2);
const token = fs.readFileSync(tokenFile, "utf8").trim();
const store = {Users: new Map(), Groups: new Map()};
const stats = {};
const byName = new Map();   // lower-case userName -> id (409)
const LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

function send(res, status, body) {
	const s = body === undefined ? "" : JSON.stringify(body);
	res.writeHead(status, {"Content-Type": "application/scim+json",
		"Content-Length": Buffer.byteLength(s)});
	res.end(s);
}

function error(res, status, detail) {
	send(res, status, {schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"],
		status: String(status), detail});
}

// `attr eq "value"` only (what dirsync's lookups send)
function filterOf(q) {
	const m = /^(\w+) eq "((?:[^"\\]|\\.)*)"$/.exec(q ?? "");
	if (!m)
		return null;
	const v = JSON.parse(`"${m[2]}"`).toLowerCase();
	return (r) => String(r[m[1]] ?? "").toLowerCase() === v;
}

// `members[value eq "a" or value eq "b"]` -> ["members", Set(a, b)]
function valuePath(path) {
	const m = /^(\w+)\[(.*)\]$/.exec(path);
	if (!m)
		return null;
	const vals = new Set();
	for (const x of m[2].matchAll(/value eq "((?:[^"\\]|\\.)*)"/g))
		vals.add(JSON.parse(`"${x[1]}"`).toLowerCase());
	return [m[1], vals];
}

function patch(rec, ops) {
	for (const op of ops ?? []) {
		const kind = String(op.op).toLowerCase();
		const vp = op.path ? valuePath(op.path) : null;
		if (kind === "remove" && vp) {
			rec[vp[0]] = (rec[vp[0]] ?? []).filter(
				(e) => !vp[1].has(String(e.value).toLowerCase()));
		} else if (kind === "remove") {
			delete rec[op.path];
		} else if (kind === "add" && Array.isArray(op.value)) {
			rec[op.path] = [...(rec[op.path] ?? []), ...op.value];
		} else if (op.path) {
			rec[op.path] = op.value;
		} else {
			Object.assign(rec, op.value);
		}
	}
}

function list(res, kind, url) {
	const all = [...store[kind].values()];
	const f = filterOf(url.searchParams.get("filter"));
	const hits = f ? all.filter(f) : all;
	const start = Number(url.searchParams.get("startIndex") ?? 1);
	const count = Number(url.searchParams.get("count") ?? hits.length);
	const page = hits.slice(start - 1, start - 1 + count);
	send(res, 200, {schemas: [LIST], totalResults: hits.length,
		startIndex: start, itemsPerPage: page.length, Resources: page});
}

function scim(req, res, url, body) {
	const parts = url.pathname.replace(/^\/scim\/?/, "").split("/");
	const kind = parts[0];
	if (kind === "ServiceProviderConfig")
		return send(res, 200, {patch: {supported: true},
			filter: {supported: true, maxResults: 1000},
			etag: {supported: false}, sort: {supported: false},
			bulk: {supported: false}});
	if (!store[kind])
		return error(res, 404, `no ${kind}`);
	const map = store[kind];
	if (parts.length === 1 && req.method === "GET")
		return list(res, kind, url);
	if (parts.length === 1 && req.method === "POST") {
		const name = String(body.userName).toLowerCase();
		if (kind === "Users" && byName.has(name))
			return error(res, 409, "userName exists");
		const rec = {...body, id: crypto.randomUUID(),
			meta: {resourceType: kind.slice(0, -1)}};
		map.set(rec.id, rec);
		if (kind === "Users")
			byName.set(name, rec.id);
		return send(res, 201, rec);
	}
	const rec = map.get(decodeURIComponent(parts[1] ?? ""));
	if (!rec)
		return error(res, 404, "not found");
	if (req.method === "GET")
		return send(res, 200, rec);
	if (req.method === "PATCH") {
		if (kind === "Users")
			byName.delete(String(rec.userName).toLowerCase());
		patch(rec, body.Operations);
		if (kind === "Users")
			byName.set(String(rec.userName).toLowerCase(), rec.id);
		return send(res, 200, rec);
	}
	if (req.method === "DELETE") {
		map.delete(rec.id);
		byName.delete(String(rec.userName).toLowerCase());
		return send(res, 204);
	}
	return error(res, 405, "method");
}

const server = http.createServer((req, res) => {
	const url = new URL(req.url, "http://x");
	let data = "";
	req.on("data", (c) => { data += c; });
	req.on("end", () => {
		if (url.pathname.startsWith("/control/")) {
			const what = url.pathname.slice(9);
			if (what === "stats")
				return send(res, 200, stats);
			if (what === "reset") {
				for (const k of Object.keys(stats))
					delete stats[k];
				return send(res, 200, {});
			}
			if (what === "dump")
				return send(res, 200, {
					Users: [...store.Users.values()],
					Groups: [...store.Groups.values()]});
			return send(res, 200, {});
		}
		stats[req.method] = (stats[req.method] ?? 0) + 1;
		stats.total = (stats.total ?? 0) + 1;
		if (req.method !== "GET")
			stats.writes = (stats.writes ?? 0) + 1;
		if (req.headers.authorization !== `Bearer ${token}`)
			return error(res, 401, "token");
		let body = {};
		try {
			body = data ? JSON.parse(data) : {};
		} catch {
			return error(res, 400, "not JSON");
		}
		scim(req, res, url, body);
	});
});
server.keepAliveTimeout = 60000;
server.listen(Number(port), "127.0.0.1", () =>
	fs.writeFileSync(portFile, String(server.address().port)));
