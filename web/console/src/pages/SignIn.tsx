import { useState, type FormEvent } from "react";
import { Client, fetchExchange } from "urql";
import { normaliseToken } from "../auth";
import { persisted } from "../client";
import { ViewerQuery } from "../viewer";
import { APP_NAME, Page, requestErrors } from "../ui";

/** Paste a bearer token; it is checked with the viewer query before the console opens. */
export function SignIn({ onSignIn, notice }: { onSignIn: (token: string) => void; notice: string | null }) {
  const [value, setValue] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const token = normaliseToken(value);
    if (!token) {
      setError("Indsæt et adgangstoken.");
      return;
    }
    setBusy(true);
    const probe = new Client({
      url: "/graphql",
      exchanges: [persisted(), fetchExchange],
      fetchOptions: { headers: { Authorization: `Bearer ${token}` } },
    });
    const result = await probe.query(ViewerQuery, {}, { requestPolicy: "network-only" }).toPromise();
    setBusy(false);
    if (result.data) {
      onSignIn(token);
    } else {
      const unauthenticated = result.error?.graphQLErrors.some((e) => e.extensions?.code === "UNAUTHENTICATED");
      setError(
        unauthenticated
          ? "Tokenet blev ikke godtaget: det er udløbet, ugyldigt eller hører ikke til en aktiv bruger."
          : (requestErrors(result.error) ?? ["Log ind mislykkedes."]).join(" "),
      );
    }
  };

  return (
    <main id="indhold" className="signin">
      <Page title={`Log ind · ${APP_NAME}`}>
        {notice ? (
          <p className="alert" role="alert">
            {notice}
          </p>
        ) : null}
        <form onSubmit={submit} noValidate>
          <div className="field">
            <label htmlFor="token">Adgangstoken</label>
            <span className="hint" id="token-hjaelp">
              Indsæt det bearer-token, din identitetsudbyder har udstedt. I udvikling udskriver{" "}
              <code>make run</code> ét token pr. rolle. Tokenet gemmes kun i denne fane.
            </span>
            <textarea
              id="token"
              name="token"
              rows={4}
              spellCheck={false}
              autoComplete="off"
              value={value}
              onChange={(e) => setValue(e.target.value)}
              aria-invalid={error ? true : undefined}
              aria-describedby={error ? "token-hjaelp token-fejl" : "token-hjaelp"}
            />
            {error ? (
              <span className="field-error" id="token-fejl">
                {error}
              </span>
            ) : null}
          </div>
          <button type="submit" disabled={busy}>
            {busy ? "Logger ind…" : "Log ind"}
          </button>
        </form>
      </Page>
    </main>
  );
}
