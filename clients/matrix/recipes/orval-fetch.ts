// The fetch that orval's generated functions call (orval.config.cjs: override.mutator).
// orval generates paths; this adds the server's base URL, and returns what the generated
// response types describe: { data, status, headers }.
let baseUrl = "https://api.example.com/api/v1";
export const setBaseUrl = (url: string) => {
  baseUrl = url;
};

export const claraFetch = async <T>(url: string, options: RequestInit): Promise<T> => {
  const response = await fetch(`${baseUrl}${url}`, options);
  const text = [204, 205, 304].includes(response.status) ? "" : await response.text();
  const data: unknown = text ? JSON.parse(text) : {};
  return { data, status: response.status, headers: response.headers } as T;
};
