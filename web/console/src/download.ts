// Downloads of the gateway's documented CSV exports (/exports/…): fetched with the bearer token
// (a plain link could not send it), then saved from a blob: URL. Nothing is kept afterwards.
import { createContext, useContext } from "react";

export const TokenContext = createContext<string>("");
export const useToken = () => useContext(TokenContext);

export async function downloadCsv(path: string, token: string, fileName: string): Promise<string | null> {
  const response = await fetch(path, { headers: { Authorization: `Bearer ${token}` } });
  if (!response.ok) {
    try {
      const body = (await response.json()) as { message?: string; error?: string };
      return body.message ?? body.error ?? `Eksporten mislykkedes (${response.status}).`;
    } catch {
      return `Eksporten mislykkedes (${response.status}).`;
    }
  }
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement("a");
  link.href = url;
  link.download = fileName;
  document.body.appendChild(link);
  link.click();
  link.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return null;
}
