// openapi-zod-client's Zodios client against a live sandbox server (.ci/clients.sh): every
// answer below is validated at run time against the zod schemas generated from
// openapi/openapi.json, the strictest reader of the spec. A schema that does not match
// what the server really sends fails the call.
//
// Environment (.ci/live-stack.sh): BASE, PUBLIC_KEY, ADMIN_KEY, CREDS (JSON: user_id,
// email, password).

import { createApiClient, schemas } from "./generated/client.js";

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

const creds = JSON.parse(env("CREDS")) as { user_id: string; email: string; password: string };
const api = createApiClient(`${env("BASE")}/api/v1`, { validate: true });
// One credential per call: the spec's ApiKey is the public key or the admin key, as the
// operation says (`x-clara-api-key`); never two values in Authorization.
const publicKey = { Authorization: env("PUBLIC_KEY") };
const adminKey = { Authorization: env("ADMIN_KEY") };
const basic = { Authorization: `Basic ${Buffer.from(`${creds.email}:${creds.password}`).toString("base64")}` };

let calls = 0;
async function step<T>(name: string, call: () => Promise<T>): Promise<T> {
  try {
    const result = await call();
    calls += 1;
    return result;
  } catch (err) {
    throw new Error(`zod client: ${name}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

const health = await step("miscHealth", () => api.miscHealth());
if (!health.data.sandbox) throw new Error("not a sandbox server");
await step("miscVersion", () => api.miscVersion());

const email = `zod-${Date.now()}@example.com`;
const registered = await step("authRegister", () =>
  api.authRegister(
    { first_name: "Zod", last_name: "Client", email, password: "correct horse battery staple" },
    { headers: { ...publicKey, "Idempotency-Key": crypto.randomUUID() } },
  ),
);
if (registered.data.email !== email || registered.data.is_active) throw new Error("register: unexpected user");

const login = await step("authLogin", () => api.authLogin(undefined, { headers: basic }));
const bearer = { Authorization: `Bearer ${login.data.token}` };
const user_id = login.data.id;
const params = { user_id };

await step("usersGet", () => api.usersGet({ params, headers: bearer }));
const key = await step("apiKeysGet", () => api.apiKeysGet({ params, headers: bearer }));
await step("usersGet (API key)", () => api.usersGet({ params, headers: { Authorization: `Bearer ${key.data.token}` } }));
await step("stripeRate", () => api.stripeRate({ headers: bearer }));
const transactions = await step("transactionsList", () =>
  api.transactionsList({ params, queries: { limit: 100, offset: 0 }, headers: bearer }),
);
const first = transactions.data[0];
if (first) {
  await step("transactionsGet", () =>
    api.transactionsGet({ params: { user_id, transaction_id: first.id }, headers: bearer }),
  );
}
// An analysis (multipart) run by the sandbox's model, polled to COMPLETED: the task with its
// steps, result and citations goes through the generated schemas at every stage.
const started = await step("agentAnalysis", () =>
  api.agentAnalysis({ text: "The Eiffel Tower is in Paris." }, { params, headers: bearer }),
);
let status = started.data.status;
for (let i = 0; i < 300 && status !== "COMPLETED" && status !== "FAILED"; i += 1) {
  await new Promise((resolve) => setTimeout(resolve, 200));
  const task = await step("tasksGet", () =>
    api.tasksGet({ params: { user_id, task_id: started.data.id }, headers: bearer }),
  );
  status = task.data.status;
}
if (status !== "COMPLETED") throw new Error(`zod client: the analysis ended ${status}`);
await step("tasksList", () => api.tasksList({ params, queries: { limit: 100 }, headers: bearer }));
await step("sessionsList", () => api.sessionsList({ params, headers: bearer }));
await step("agentSupportedAttachments", () => api.agentSupportedAttachments({ params, headers: bearer }));
await step("adminUsersList", () => api.adminUsersList({ queries: { limit: 5 }, headers: adminKey }));
await step("adminTasksList", () => api.adminTasksList({ queries: { limit: 5 }, headers: adminKey }));
await step("adminSecurityEventsList", () => api.adminSecurityEventsList({ queries: { limit: 5 }, headers: adminKey }));

// An error answer: Zodios throws; its body must parse as the documented ErrorBody.
try {
  await api.usersGet({ params, headers: { Authorization: "Bearer clara_user_not-a-token" } });
  throw new Error("zod client: a forged token was accepted");
} catch (err) {
  const body = (err as { response?: { status?: number; data?: unknown } }).response;
  if (body?.status !== 401) throw err;
  const parsed = schemas.ErrorBody.parse(body.data);
  if (parsed.code !== "unauthorized") throw new Error(`zod client: 401 with code ${parsed.code}`);
  calls += 1;
}

console.log(`zod client: ${calls} live calls, every answer valid under the generated schemas`);
