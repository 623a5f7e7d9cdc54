// Recipes for orval's fetch client (docs/clients.md). Compiled by .ci/generators.sh.
// Functions are named by operationId; the last argument is a RequestInit, where the
// credential (and the Idempotency-Key) go as headers.
import {
  adminUsersList,
  agentAnalysis,
  authLogin,
  stripeBuy,
  tasksGet,
  transactionsList,
} from "../out/orval/clara.js";
import { setBaseUrl } from "./orval-fetch.js";

setBaseUrl("https://api.example.com/api/v1");

// Credentials: every scheme travels in `Authorization`; orval leaves it to the caller.
export const publicKey = (key: string): RequestInit => ({ headers: { Authorization: key } });
export const adminKey = (key: string): RequestInit => ({ headers: { Authorization: key } });
export const bearer = (token: string, extra: Record<string, string> = {}): RequestInit => ({
  headers: { Authorization: `Bearer ${token}`, ...extra },
});
export const basic = (email: string, password: string): RequestInit => ({
  headers: { Authorization: `Basic ${Buffer.from(`${email}:${password}`).toString("base64")}` },
});

export async function login(email: string, password: string): Promise<string> {
  const response = await authLogin(undefined, basic(email, password));
  if (response.status !== 200) throw new Error(`login: ${response.status} ${response.data.code}`);
  return response.data.data.token;
}

export async function listUsers(admin: string) {
  const response = await adminUsersList(undefined, adminKey(admin));
  return response.status === 200 ? response.data.data : [];
}

// Retries with Idempotency-Key: the same key on every attempt of one logical request.
export async function buyWithRetries(token: string, amount: number) {
  const key = crypto.randomUUID();
  for (let attempt = 1; ; attempt++) {
    try {
      const response = await stripeBuy({ amount, return_path: "/billing" }, bearer(token, { "Idempotency-Key": key }));
      if (response.status === 201) {
        return { checkout: response.data.data, replayed: response.headers.get("Idempotent-Replayed") === "true" };
      }
      // The 409 and 422 below are declared by the spec once Idempotency-Key is; `number` and
      // the cast keep this compiling either way.
      const status: number = response.status;
      const code = (response.data as { code?: string }).code;
      // 409 idempotency_key_in_use: the first attempt is still running; wait and retry.
      if (status === 409 && code === "idempotency_key_in_use" && attempt < 5) {
        await new Promise((r) => setTimeout(r, 500 * attempt));
        continue;
      }
      // 422 idempotency_key_reused: the key went with another body; a bug, do not retry.
      throw new Error(`buy: ${status} ${code}`);
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
    const response = await transactionsList(userId, { limit: 100, offset }, bearer(token));
    if (response.status !== 200) throw new Error(`transactions: ${response.status}`);
    all.push(...response.data.data);
    offset += response.data.data.length;
    const total = Number(response.headers.get("X-Total-Count"));
    if (response.data.data.length === 0 || offset >= total) return all;
  }
}

// Polling a task until it is COMPLETED (with `result`) or FAILED (with `error`).
export async function analyse(token: string, userId: string, text: string) {
  const started = await agentAnalysis(userId, { text }, bearer(token, { "Idempotency-Key": crypto.randomUUID() }));
  if (started.status !== 201) throw new Error(`analysis: ${started.status}`);
  let task = started.data.data;
  while (task.status !== "COMPLETED" && task.status !== "FAILED") {
    await new Promise((r) => setTimeout(r, 1000));
    const polled = await tasksGet(userId, task.id, bearer(token));
    if (polled.status !== 200) throw new Error(`task: ${polled.status}`);
    task = polled.data.data;
  }
  return task;
}
