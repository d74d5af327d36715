// A tiny web application: answers every GET with a static page. Runs in the foreground; procman
// daemonizes it. PORT sets the port (default 5000).
import http from "node:http";

const port = Number(process.env.PORT ?? 5000);
const page = `<!doctype html>
<html><head><title>webapp</title></head>
<body><h1>Hello from webapp</h1><p>Served by process ${process.pid} on port ${port}.</p></body></html>
`;

const server = http.createServer((request, response) => {
  response.writeHead(200, { "content-type": "text/html; charset=utf-8" });
  response.end(request.method === "HEAD" ? undefined : page);
});
server.listen(port, "127.0.0.1", () => console.log(`webapp listening on http://127.0.0.1:${port}/`));

for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
