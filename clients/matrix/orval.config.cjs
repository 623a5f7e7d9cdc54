// orval: a fetch client (one function per operation, named by operationId) from the
// committed spec. Every call goes through recipes/orval-fetch.ts, which adds the base URL
// (orval's generated URLs are paths) and returns status, headers and body.
module.exports = {
  clara: {
    input: { target: "../../openapi/openapi.json" },
    output: {
      target: "out/orval/clara.ts",
      schemas: "out/orval/model",
      client: "fetch",
      mode: "split",
      override: { mutator: { path: "recipes/orval-fetch.ts", name: "claraFetch" } },
    },
  },
};
