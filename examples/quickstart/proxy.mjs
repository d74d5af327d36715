// A minimal reverse proxy in Node: forwards each request to one of UPSTREAM (host:port, several
// separated by commas, taken in turn). It stands in for nginx so that the examples need only Node.
import http from "node:http";

const port = Number(process.env.PORT ?? 8081);
const upstreams = (process.env.UPSTREAM ?? "127.0.0.1:5000").split(",").map((entry) => entry.trim().split(":"));
let next = 0;

const server = http.createServer((request, response) => {
  const [upstreamHost, upstreamPort] = upstreams[next++ % upstreams.length];
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
server.listen(port, "127.0.0.1", () => console.log(`proxy on http://127.0.0.1:${port}/ -> ${process.env.UPSTREAM}`));

for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => server.close(() => process.exit(0)));
