// Recipes for openapi-typescript + openapi-fetch (docs/clients.md). Compiled by
// .ci/generators.sh against the types generated from the committed spec.
import createClient from "openapi-fetch";

import type { paths } from "../out/oat/schema.js";

export const client = createClient<paths>({ baseUrl: "https://api.example.com/api/v1" });

// Credentials: every scheme travels in `Authorization`; pass the header per call.
export const publicKey = (key: string) => ({ Authorization: key }); // ApiKey (the public key): raw
export const adminKey = (key: string) => ({ Authorization: key }); // ApiKey (the admin key): raw
export const bearer = (token: string) => ({ Authorization: `Bearer ${token}` }); // session or API key
export const basic = (email: string, password: string) => ({
  Authorization: `Basic ${Buffer.from(`${email}:${password}`).toString("base64")}`,
});

export async function login(email: string, password: string): Promise<string> {
  const { data, error, response } = await client.POST("/auth/session", { headers: basic(email, password) });
  if (!data) throw new Error(`login: ${response.status} ${error?.code}`);
  return data.data.token;
}

export async function listUsers(admin: string) {
  const { data } = await client.GET("/users", { headers: adminKey(admin) });
  return data?.data ?? [];
}

// Retries with Idempotency-Key: the same key on every attempt of one logical request.
export async function buyWithRetries(token: string, amount: number) {
  const key = crypto.randomUUID();
  for (let attempt = 1; ; attempt++) {
    try {
      const { data, error, response } = await client.POST("/stripe/buy", {
        headers: { ...bearer(token), "Idempotency-Key": key },
        body: { amount, return_path: "/billing" },
      });
      if (data) {
        const replayed = response.headers.get("Idempotent-Replayed") === "true";
        return { checkout: data.data, replayed };
      }
      // 409 idempotency_key_in_use: the first attempt is still running; wait and retry.
      if (response.status === 409 && error?.code === "idempotency_key_in_use" && attempt < 5) {
        await new Promise((r) => setTimeout(r, 500 * attempt));
        continue;
      }
      // 422 idempotency_key_reused: the key was used with another body; a bug, do not retry.
      throw new Error(`buy: ${response.status} ${error?.code}`);
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
    const { data, response } = await client.GET("/users/{user_id}/transactions", {
      params: { path: { user_id: userId }, query: { limit: 100, offset } },
      headers: bearer(token),
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
  const started = await client.POST("/users/{user_id}/agent/analysis", {
    params: { path: { user_id: userId } },
    headers: { ...bearer(token), "Idempotency-Key": crypto.randomUUID() },
    body: { text },
    bodySerializer: (body: { text?: string }) => {
      const form = new FormData();
      if (body.text) form.append("text", body.text);
      return form;
    },
  });
  if (!started.data) throw new Error(`analysis: ${started.response.status}`);
  let task = started.data.data;
  while (task.status !== "COMPLETED" && task.status !== "FAILED") {
    await new Promise((r) => setTimeout(r, 1000));
    const polled = await client.GET("/users/{user_id}/tasks/{task_id}", {
      params: { path: { user_id: userId, task_id: task.id } },
      headers: bearer(token),
    });
    if (!polled.data) throw new Error(`task: ${polled.response.status}`);
    task = polled.data.data;
  }
  return task;
}
