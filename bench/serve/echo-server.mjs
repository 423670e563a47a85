// The measurement's ceiling: a bare Fastify server that parses the same JSON body and answers a
// prediction-shaped constant, with no model, validation, metrics or logs. What netwarden reaches
// relative to this is what the load generator on the same 2 cores leaves room for.
import Fastify from "fastify";

const app = Fastify({ logger: false });
app.get("/healthz", async () => ({ status: "ok" }));
app.post("/predict", async (req) => ({
  model: "echo",
  version: 1,
  features: Object.keys(req.body).length,
  predictions: [{ label: "-1", probabilities: { "-1": 0.99, 1: 0.01 } }],
}));
await app.listen({ host: "127.0.0.1", port: Number(process.argv[2]) });
