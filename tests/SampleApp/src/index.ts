// Sample service for Atelier's test host: an HTTP server plus a steady SQLite writer.
//
// Environment:
//   PORT                 port on 127.0.0.1 (default 3000)
//   DATABASE_PATH        SQLite file (default ./sample.db)
//   WRITE_INTERVAL_MS    one committed row every N ms (default 10)
//   WRITE_PAYLOAD_BYTES  payload size of each row (default 64)
//   COMMIT               reported by /health; else the git HEAD of the working directory
//
// GET /log?line=TEXT[&stream=err] writes TEXT as one line to stdout (or stderr): the unit's journal.
import { Database } from "bun:sqlite";
import { existsSync, readFileSync } from "node:fs";

const port = Number(process.env.PORT ?? 3000);
const dbPath = process.env.DATABASE_PATH ?? "sample.db";
const intervalMs = Number(process.env.WRITE_INTERVAL_MS ?? 10);
const payloadBytes = Number(process.env.WRITE_PAYLOAD_BYTES ?? 64);

// The commit this process was started from (read once: a later `git reset` does not change running code).
function gitHead(dir = ".git"): string | null {
  try {
    const head = readFileSync(`${dir}/HEAD`, "utf8").trim();
    if (!head.startsWith("ref: ")) return head; // detached HEAD
    const ref = head.slice(5);
    if (existsSync(`${dir}/${ref}`)) return readFileSync(`${dir}/${ref}`, "utf8").trim();
    const packed = readFileSync(`${dir}/packed-refs`, "utf8").split("\n");
    const line = packed.find((l) => l.endsWith(` ${ref}`));
    return line ? line.split(" ")[0] : null;
  } catch {
    return null;
  }
}
const commit = process.env.COMMIT || gitHead();

const db = new Database(dbPath, { create: true });
db.exec("PRAGMA journal_mode=WAL");
db.exec("PRAGMA busy_timeout=5000");
db.exec(
  "CREATE TABLE IF NOT EXISTS events(id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, payload TEXT NOT NULL)",
);

const insert = db.prepare("INSERT INTO events(at, payload) VALUES (?, ?)");
const writeOne = db.transaction(() => insert.run(new Date().toISOString(), "x".repeat(payloadBytes)));
const stats = db.prepare("SELECT COALESCE(MAX(id), 0) AS maxId, COUNT(*) AS count FROM events");
const maxId = db.prepare("SELECT COALESCE(MAX(id), 0) AS maxId FROM events");

// One row per tick, each in its own transaction; AUTOINCREMENT keeps ids strictly increasing.
const writer = setInterval(() => {
  try {
    writeOne();
  } catch (err) {
    console.error("write failed:", err);
  }
}, intervalMs);

const json = (body: unknown, status = 200) => Response.json(body, { status });

const server = Bun.serve({
  hostname: "127.0.0.1",
  port,
  idleTimeout: 0, // never drop slow or hanging requests on our side
  async fetch(req) {
    const url = new URL(req.url);
    const path = url.pathname;
    if (req.method !== "GET") return json({ error: "method not allowed" }, 405);
    if (path === "/health") {
      const { maxId: n } = maxId.get() as { maxId: number };
      return json({ status: "ok", commit, maxId: n });
    }
    if (path === "/stats") return json(stats.get());
    const status = path.match(/^\/status\/(\d{3})$/);
    if (status) {
      const code = Number(status[1]);
      if (code < 200 || code > 599) return json({ error: "status must be 200-599" }, 400);
      return new Response(code === 204 || code === 304 ? null : `status ${code}\n`, { status: code });
    }
    if (path === "/slow") {
      const ms = Number(url.searchParams.get("ms") ?? 1000);
      await Bun.sleep(ms);
      return json({ status: "ok", sleptMs: ms });
    }
    if (path === "/hang") return new Promise<Response>(() => {}); // never settles
    if (path === "/log") {
      // One line in the unit's journal, as the app writes it (tests of Get-ServiceLog): ?line=...&stream=err
      const line = url.searchParams.get("line") ?? "";
      if (url.searchParams.get("stream") === "err") console.error(line);
      else console.log(line);
      return json({ status: "ok", logged: line });
    }
    return json({ error: "not found" }, 404);
  },
});

console.log(`sample-app listening on http://127.0.0.1:${server.port} db=${dbPath} commit=${commit}`);

function shutdown(signal: string) {
  console.log(`received ${signal}, shutting down`);
  clearInterval(writer);
  server.stop(true);
  db.close();
  process.exit(0);
}
process.on("SIGTERM", () => shutdown("SIGTERM"));
process.on("SIGINT", () => shutdown("SIGINT"));
