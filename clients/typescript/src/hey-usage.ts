// Compiles against the @hey-api/openapi-ts SDK (operation-id method names) to show that
// the generated functions are usable as typed, with --strict.
import { client } from "../generated/hey/client.gen";
import { authLogin, stripeBuy, transactionsList, usersGet } from "../generated/hey/sdk.gen";

export async function example(base: string, token: string, userId: string): Promise<number> {
  client.setConfig({ baseUrl: `${base}/api/v1` });
  const auth = { Authorization: `Bearer ${token}` };
  const login = await authLogin({ headers: { Authorization: "Basic ZW1haWw6cGFzc3dvcmQ=" } });
  const user = await usersGet({ path: { user_id: userId }, headers: auth });
  const page = await transactionsList({ path: { user_id: userId }, query: { limit: 5 }, headers: auth });
  const buy = await stripeBuy({ body: { amount: 5, return_path: "/" }, headers: auth });
  const credits: number | undefined = user.data?.data.credits;
  return (credits ?? 0) + (page.data?.data.length ?? 0) + (buy.data ? 1 : 0) + (login.data ? 1 : 0);
}
