// Recipes for @hey-api/openapi-ts (fetch client, SDK, zod validation; docs/clients.md).
// Compiled by .ci/generators.sh. SDK functions are named by operationId.
import { createClient } from "../out/hey/client/index.js";
import {
  adminUsersList,
  agentAnalysis,
  authLogin,
  authRegister,
  stripeBuy,
  tasksGet,
  transactionsList,
} from "../out/hey/sdk.gen.js";

// The generated `client` has baseUrl '/api/v1'; make one with the server's origin.
export const client = createClient({ baseUrl: "https://api.example.com/api/v1" });

// Credentials. The SDK knows each operation's schemes and calls `auth` with the scheme it
// needs: { scheme: 'bearer' } (the token is prefixed `Bearer `), { scheme: 'basic' } (return
// `email:password`; it is base64-encoded), or { type: 'apiKey', name: 'Authorization' } for
// ApiKey, which is the public key or the admin key as the operation says: give `auth` per call.
export async function register(publicKey: string, email: string, password: string) {
  const { data, error, response } = await authRegister({
    client,
    auth: () => publicKey,
    headers: { "Idempotency-Key": crypto.randomUUID() },
    body: { first_name: "Ada", last_name: "Lovelace", email, password },
  });
  if (!data) throw new Error(`register: ${response.status} ${error?.code}`);
  return data.data;
}

export async function login(email: string, password: string): Promise<string> {
  const { data, error, response } = await authLogin({ client, auth: () => `${email}:${password}` });
  if (!data) throw new Error(`login: ${response.status} ${error?.code}`);
  return data.data.token;
}

export async function listUsers(adminKey: string) {
  const { data } = await adminUsersList({ client, auth: () => adminKey });
  return data?.data ?? [];
}

// Retries with Idempotency-Key: the same key on every attempt of one logical request.
export async function buyWithRetries(token: string, amount: number) {
  const key = crypto.randomUUID();
  for (let attempt = 1; ; attempt++) {
    try {
      const { data, error, response } = await stripeBuy({
        client,
        auth: () => token,
        headers: { "Idempotency-Key": key },
        body: { amount, return_path: "/billing" },
      });
      if (data) return { checkout: data.data, replayed: response.headers.get("Idempotent-Replayed") === "true" };
      const code = (error as { code?: string } | undefined)?.code;
      // 409 idempotency_key_in_use: the first attempt is still running; wait and retry.
      if (response.status === 409 && code === "idempotency_key_in_use" && attempt < 5) {
        await new Promise((r) => setTimeout(r, 500 * attempt));
        continue;
      }
      // 422 idempotency_key_reused: the key went with another body; a bug, do not retry.
      throw new Error(`buy: ${response.status} ${code}`);
    } catch (e) {
      if (e instanceof TypeError && attempt < 5) continue; // network error: retry, same key
      throw e;
    }
  }
}

// Paging: X-Total-Count is the total, `limit` (1 to 100) and `offset` pick the page.
export async function allTransactions(token: string, userId: string) {
  const all = [];
  for (let offset = 0; ; ) {
    const { data, response } = await transactionsList({
      client,
      auth: () => token,
      path: { user_id: userId },
      query: { limit: 100, offset },
    });
    if (!data) throw new Error(`transactions: ${response.status}`);
    all.push(...data.data);
    offset += data.data.length;
    const total = Number(response.headers.get("X-Total-Count"));
    if (data.data.length === 0 || offset >= total) return all;
  }
}

// Polling a task until it is COMPLETED (with `result`) or FAILED (with `error`).
export async function analyse(token: string, userId: string, text: string) {
  const started = await agentAnalysis({
    client,
    auth: () => token,
    headers: { "Idempotency-Key": crypto.randomUUID() },
    path: { user_id: userId },
    body: { text },
  });
  if (!started.data) throw new Error(`analysis: ${started.response.status}`);
  let task = started.data.data;
  while (task.status !== "COMPLETED" && task.status !== "FAILED") {
    await new Promise((r) => setTimeout(r, 1000));
    const polled = await tasksGet({ client, auth: () => token, path: { user_id: userId, task_id: task.id } });
    if (!polled.data) throw new Error(`task: ${polled.response.status}`);
    task = polled.data.data;
  }
  return task;
}
