// @hey-api/openapi-ts: the fetch client, an SDK of one function per operation (named by
// operationId), and zod schemas that the SDK uses to validate requests and responses.
export default {
  input: "../../openapi/openapi.json",
  output: "out/hey",
  plugins: ["@hey-api/client-fetch", "zod", { name: "@hey-api/sdk", validator: true }],
};
