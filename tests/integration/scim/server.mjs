// A SCIM 2.0 server for dirsync's integration tests and bench.
//
// The protocol layer (routes, schemas, filters, PATCH, ListResponse,
// errors) is scimmy + scimmy-routers from the npm registry; this file only
// supplies what they leave to the application: storage in memory, ids and
// meta (with a version, for ETags), the bearer-token check, uniqueness of
// userName (409), and If-Match (412), which scimmy-routers does not check.
//
// A control endpoint outside /scim drives the fault tests and counts
// requests (it needs no token: the server binds to 127.0.0.1 only):
//   GET  /control/stats        {"GET":n,"POST":n,...,"writes":n}
//   POST /control/reset        zero the counters
//   POST /control/faults       {"status":429,"retryAfter":1,"count":2}
//                              the next `count` /scim requests get `status`
//                              ("after": n lets n requests through first)
//                              ("drop": true closes the connection instead)
//                              {"reject":"userName"}: writes of that user 400
//                              {"delayMs":n}: every write waits n ms
//   POST /control/touch        {"userName":u}: before the next write to u,
//                              its version moves, as if another client
//                              changed it (If-Match: 412)
//   GET  /control/dump         every User and Group, unpaged
//
// Usage: node server.mjs PORT TOKEN_FILE [PORT_FILE [cursor]]
// PORT 0 picks a free port, written to PORT_FILE once listening.
// "cursor" also offers RFC 9865 cursor pagination (?cursor, nextCursor),
// which scimmy does not have: translated here to startIndex pages.
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import express from "express";
import SCIMMY from "scimmy";
import SCIMMYRouters from "scimmy-routers";

const [port, tokenFile, portFile, mode] = process.argv.slice(2);
const cursorMode = mode === "cursor";
const token = fs.readFileSync(tokenFile, "utf8").trim();

const store = {Users: new Map(), Groups: new Map()};
const stats = {};
let faults = {count: 0, after: 0, status: 0, retryAfter: undefined,
	drop: false, reject: undefined, delayMs: 0};

SCIMMY.Config.set({
	patch: true,
	// cursor mode: small pages, so that a test walks several cursors
	filter: {supported: true, maxResults: cursorMode ? 10 : 1000},
	etag: true,
	sort: false,
	bulk: false,
	changePassword: false,
});

const byName = new Map();   // lower-case userName -> id

function conflict(kind, rec, id) {
	if (kind !== "Users")
		return;
	const other = byName.get(String(rec.userName ?? "").toLowerCase());
	if (other !== undefined && other !== id)
		throw new SCIMMY.Types.Error(409, "uniqueness",
			`userName ${rec.userName} already exists`);
}

function renamed(kind, old, rec) {
	if (kind !== "Users")
		return;
	if (old)
		byName.delete(String(old.userName).toLowerCase());
	if (rec)
		byName.set(String(rec.userName).toLowerCase(), rec.id);
}

function handlers(kind) {
	const map = store[kind];
	return {
		ingress: async (resource, instance) => {
			const rec = JSON.parse(JSON.stringify(instance));
			// scimmy leaves `password` (returned: "never") out of
			// the JSON form; keep what arrived, so that the tests
			// can see it in /control/dump (never served by /scim)
			if (kind === "Users" && instance.password !== undefined)
				rec.password = String(instance.password);
			if (kind === "Users" && faults.reject !== undefined &&
			    String(rec.userName).toLowerCase() === faults.reject)
				throw new SCIMMY.Types.Error(400, "invalidValue",
					`userName ${rec.userName} rejected by the test server`);
			const id = resource.id ?? crypto.randomUUID();
			const old = map.get(id);
			if (resource.id && !old)
				throw new SCIMMY.Types.Error(404, null,
					`Resource ${resource.id} not found`);
			conflict(kind, rec, id);
			const now = new Date().toISOString();
			const n = (old ? Number(old.meta.version.replace(/\D/g, "")) : 0) + 1;
			rec.id = id;
			rec.meta = {
				resourceType: kind === "Users" ? "User" : "Group",
				created: old ? old.meta.created : now,
				lastModified: now,
				version: `W/"${n}"`,
			};
			map.set(id, rec);
			renamed(kind, old, rec);
			return rec;
		},
		egress: async (resource) => {
			if (resource.id) {
				const r = map.get(resource.id);
				if (!r)
					throw new SCIMMY.Types.Error(404, null,
						`Resource ${resource.id} not found`);
				return r;
			}
			const all = [...map.values()];
			const hits = resource.filter ? resource.filter.match(all) : all;
			// page here: scimmy turns every returned record into a
			// schema instance (a 10,000-member Group takes seconds),
			// and only then cuts the page; with totalResults set, its
			// ListResponse takes this slice as the page as it is
			const c = resource.constraints;
			if (c === undefined || c.count === undefined)
				return hits;
			const start = c.startIndex ?? 1;
			c.totalResults = hits.length;
			return hits.slice(start - 1, start - 1 + c.count);
		},
		degress: async (resource) => {
			const old = map.get(resource.id);
			if (!map.delete(resource.id))
				throw new SCIMMY.Types.Error(404, null,
					`Resource ${resource.id} not found`);
			renamed(kind, old, undefined);
		},
	};
}

function declare(Resource, kind) {
	const h = handlers(kind);
	Resource.ingress(h.ingress).egress(h.egress).degress(h.degress);
}

SCIMMY.Resources.declare(SCIMMY.Resources.User)
	.extend(SCIMMY.Schemas.EnterpriseUser, false);
declare(SCIMMY.Resources.User, "Users");
SCIMMY.Resources.declare(SCIMMY.Resources.Group);
declare(SCIMMY.Resources.Group, "Groups");

const app = express();

app.get("/control/stats", (req, res) => res.json(stats));
app.post("/control/reset", (req, res) => {
	for (const k of Object.keys(stats))
		delete stats[k];
	res.json({});
});
app.post("/control/faults", express.json(), (req, res) => {
	faults = {count: 0, after: 0, status: 0, retryAfter: undefined,
		drop: false, reject: undefined, delayMs: 0, ...req.body};
	if (faults.reject)
		faults.reject = String(faults.reject).toLowerCase();
	res.json(faults);
});
// the next write to that User finds it changed by another client since
// dirsync read it: its version moves first (If-Match -> 412)
let touch;
app.post("/control/touch", express.json(), (req, res) => {
	touch = String(req.body.userName ?? "").toLowerCase();
	res.json({});
});
app.get("/control/dump", (req, res) =>
	res.json({Users: [...store.Users.values()],
		Groups: [...store.Groups.values()]}));

// Rewrites the answer scimmy is about to send (restoring res.send first:
// express's send of an object calls send again with the string).
function rewrite(res, fn) {
	const send = res.send.bind(res);
	res.send = (body) => {
		res.send = send;
		if (res.statusCode !== 200 || body === null ||
		    typeof body !== "object" || Buffer.isBuffer(body))
			return send(body);
		const b = JSON.parse(JSON.stringify(body));
		fn(b);
		return send(b);
	};
}

// RFC 9865 on top of scimmy's startIndex pages; returns true when the
// request was answered here (a bad cursor).
function cursorPage(req, res) {
	if (req.path === "/ServiceProviderConfig") {
		rewrite(res, (b) => {
			b.pagination = {cursor: true, index: true,
				defaultPaginationMethod: "index",
				cursorTimeout: 3600};
		});
		return false;
	}
	if (!/^\/(Users|Groups)$/.test(req.path) || !("cursor" in req.query))
		return false;
	const start = req.query.cursor === "" ? 1 :
		Number(Buffer.from(req.query.cursor, "base64url").toString());
	if (!Number.isInteger(start) || start < 1) {
		res.status(400).type("application/scim+json").send(JSON.stringify({
			schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"],
			status: "400", scimType: "invalidCursor",
			detail: "unknown cursor"}));
		return true;
	}
	stats.cursor = (stats.cursor ?? 0) + 1;
	delete req.query.cursor;
	req.query.startIndex = String(start);
	rewrite(res, (b) => {
		const next = start + (b.Resources ?? []).length;
		delete b.startIndex;
		if ((b.Resources ?? []).length > 0 && next <= b.totalResults)
			b.nextCursor = Buffer.from(String(next)).toString("base64url");
	});
	return false;
}

// counters, faults and If-Match, ahead of the SCIM routes
app.use("/scim", async (req, res, next) => {
	stats[req.method] = (stats[req.method] ?? 0) + 1;
	stats.total = (stats.total ?? 0) + 1;
	const write = req.method !== "GET";
	if (write)
		stats.writes = (stats.writes ?? 0) + 1;
	if (faults.count > 0 && faults.after > 0) {
		faults.after--;
	} else if (faults.count > 0) {
		faults.count--;
		stats.faults = (stats.faults ?? 0) + 1;
		if (faults.drop) {
			req.socket.destroy();
			return;
		}
		if (faults.retryAfter !== undefined)
			res.set("Retry-After", String(faults.retryAfter));
		res.status(faults.status).type("application/scim+json").send(
			JSON.stringify({schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"],
				status: String(faults.status),
				detail: "injected by the test server"}));
		return;
	}
	if (write && faults.delayMs > 0)
		await new Promise(r => setTimeout(r, faults.delayMs));
	if (cursorMode && req.method === "GET" && cursorPage(req, res))
		return;
	const m = req.path.match(/^\/(Users|Groups)\/([^/]+)$/);
	const want = req.get("If-Match");
	if (want)
		stats.ifMatch = (stats.ifMatch ?? 0) + 1;
	if (m && write && touch !== undefined) {
		const r = store[m[1]].get(m[2]);
		if (r && String(r.userName).toLowerCase() === touch) {
			const n = Number(r.meta.version.replace(/\D/g, "")) + 1;
			r.meta.version = `W/"${n}"`;
			touch = undefined;
		}
	}
	if (m && want && want !== "*") {
		const r = store[m[1]].get(m[2]);
		if (r && r.meta.version !== want) {
			stats.preconditionFailed = (stats.preconditionFailed ?? 0) + 1;
			res.status(412).type("application/scim+json").send(
				JSON.stringify({schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"],
					status: "412", detail: `version is ${r.meta.version}`}));
			return;
		}
	}
	if (m && req.method === "GET") {
		const r = store[m[1]].get(m[2]);
		if (r)
			res.set("ETag", r.meta.version);
	}
	next();
});

app.use("/scim", new SCIMMYRouters({
	type: "bearer",
	docUri: "https://datatracker.ietf.org/doc/html/rfc6750",
	handler: (req) => {
		if (req.get("Authorization") !== `Bearer ${token}`)
			throw new Error("Invalid bearer token");
		return "dirsync";
	},
	context: () => ({}),
}));

// SCIM_TLS_CERT / SCIM_TLS_KEY (PEM files): serve https:// instead
const tls = process.env.SCIM_TLS_CERT ? {
	cert: fs.readFileSync(process.env.SCIM_TLS_CERT),
	key: fs.readFileSync(process.env.SCIM_TLS_KEY),
} : null;
const server = (tls ? https.createServer(tls, app) : http.createServer(app))
	.listen(Number(port), "127.0.0.1", () => {
	const p = server.address().port;
	if (portFile)
		fs.writeFileSync(portFile, `${p}\n`);
	console.log(`scim test server on ${tls ? "https" : "http"}://127.0.0.1:${p}/scim`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
