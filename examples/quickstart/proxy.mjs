// A minimal reverse proxy in Node: forwards every request to UPSTREAM (host:port). It stands in for
// nginx so that the quick start needs nothing but Node.
import http from "node:http";

const port = Number(process.env.PORT ?? 8081);
const [upstreamHost, upstreamPort] = (process.env.UPSTREAM ?? "127.0.0.1:5000").split(":");

const server = http.createServer((request, response) => {
  const forward = http.request(
    { host: upstreamHost, port: Number(upstreamPort), path: request.url, method: request.method, headers: request.headers },
    (upstream) => {
      response.writeHead(upstream.statusCode ?? 502, { ...upstream.headers, via: "procman-quickstart-proxy" });
      upstream.pipe(response);
    },
  );
  forward.on("error", (error) => {
    response.writeHead(502, { "content-type": "text/plain" });
    response.end(`upstream unavailable: ${error.message}\n`);
  });
  request.pipe(forward);
});
server.listen(port, "127.0.0.1", () => console.log(`proxy on http://127.0.0.1:${port}/ -> ${upstreamHost}:${upstreamPort}`));

for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => server.close(() => process.exit(0)));
