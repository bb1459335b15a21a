// A tiny HTTP service for the demo: answers on $PORT (default 3000).
const http = require("http");
const port = Number(process.env.PORT || 3000);
let hits = 0;
http
  .createServer((req, res) => {
    hits++;
    console.log(`${new Date().toISOString()} INFO ${req.method} ${req.url} 200 hit=${hits}`);
    res.end(`hello from velos demo (hit ${hits})\n`);
  })
  .listen(port, "127.0.0.1", () => console.log(`INFO listening on 127.0.0.1:${port}`));
process.on("SIGTERM", () => {
  console.log("INFO SIGTERM: closing");
  process.exit(0);
});
