// Recipes for openapi-generator's typescript-fetch (docs/clients.md). Compiled by
// .ci/generators.sh. One class per tag (AuthApi, StripeApi, …), methods named by
// operationId; a non-2xx answer throws ResponseError.
import {
  AdminApi,
  AgentApi,
  AuthApi,
  Configuration,
  ResponseError,
  StripeApi,
  TaskApi,
  TransactionApi,
} from "../out/oag-typescript-fetch/index.js";

const basePath = "https://api.example.com/api/v1";

// Credentials: one Configuration per credential. `apiKey` is the spec's ApiKey: the public
// key or the admin key, as each operation's description says. Never set a key and a token
// on one Configuration: an operation that takes either would send whichever it writes last.
export const withPublicKey = (key: string) => new Configuration({ basePath, apiKey: () => key });
export const withAdminKey = (key: string) => new Configuration({ basePath, apiKey: () => key });
export const withBearer = (token: string) => new Configuration({ basePath, accessToken: () => token });
export const withBasic = (username: string, password: string) => new Configuration({ basePath, username, password });

export async function login(email: string, password: string): Promise<string> {
  const session = await new AuthApi(withBasic(email, password)).authLogin();
  return session.data.token;
}

export async function listUsers(adminKey: string) {
  return (await new AdminApi(withAdminKey(adminKey)).adminUsersList()).data;
}

// The error envelope's `code` from a ResponseError.
async function errorCode(e: unknown): Promise<{ status: number; code?: string } | undefined> {
  if (!(e instanceof ResponseError)) return undefined;
  const body = (await e.response.json().catch(() => ({}))) as { code?: string };
  return { status: e.response.status, code: body.code };
}

// Retries with Idempotency-Key: the same key on every attempt, through initOverrides.
export async function buyWithRetries(token: string, amount: number) {
  const stripe = new StripeApi(withBearer(token));
  const key = crypto.randomUUID();
  for (let attempt = 1; ; attempt++) {
    try {
      const response = await stripe.stripeBuyRaw(
        { buyRequest: { amount, returnPath: "/billing" } },
        async ({ init }) => ({ headers: { ...init.headers, "Idempotency-Key": key } }),
      );
      const replayed = response.raw.headers.get("Idempotent-Replayed") === "true";
      return { checkout: (await response.value()).data, replayed };
    } catch (e) {
      const failure = await errorCode(e);
      // 409 idempotency_key_in_use: the first attempt is still running; wait and retry.
      if (failure?.status === 409 && failure.code === "idempotency_key_in_use" && attempt < 5) {
        await new Promise((r) => setTimeout(r, 500 * attempt));
        continue;
      }
      if (!failure && attempt < 5) continue; // network error: retry, same key
      throw e; // 422 idempotency_key_reused and the rest
    }
  }
}

// Paging: the *Raw method gives the Response, hence X-Total-Count.
export async function allTransactions(token: string, userId: string) {
  const api = new TransactionApi(withBearer(token));
  const all = [];
  for (let offset = 0; ; ) {
    const response = await api.transactionsListRaw({ userId, limit: 100, offset });
    const page = (await response.value()).data;
    all.push(...page);
    offset += page.length;
    const total = Number(response.raw.headers.get("X-Total-Count"));
    if (page.length === 0 || offset >= total) return all;
  }
}

// Polling a task until it is COMPLETED (with `result`) or FAILED (with `error`).
export async function analyse(token: string, userId: string, text: string) {
  const config = withBearer(token);
  let task = (
    await new AgentApi(config).agentAnalysis({ userId, text }, async ({ init }) => ({
      headers: { ...init.headers, "Idempotency-Key": crypto.randomUUID() },
    }))
  ).data;
  const tasks = new TaskApi(config);
  while (task.status !== "COMPLETED" && task.status !== "FAILED") {
    await new Promise((r) => setTimeout(r, 1000));
    task = (await tasks.tasksGet({ userId, taskId: task.id })).data;
  }
  return task;
}
