// Shared parts of every screen: a page heading that takes the focus after navigation, labelled
// fields whose userErrors are tied to them (aria-invalid + aria-describedby), and messages.
import { useEffect, useId, useRef, type InputHTMLAttributes, type ReactNode, type SelectHTMLAttributes } from "react";
import type { CombinedError } from "urql";
import type { UserStatus } from "./gql/graphql";

export const APP_NAME = "MitID Erhverv administration";

export function Page({ title, children }: { title: string; children: ReactNode }) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${title} · ${APP_NAME}`;
    heading.current?.focus();
  }, [title]);
  return (
    <>
      <h1 ref={heading} tabIndex={-1}>
        {title}
      </h1>
      {children}
    </>
  );
}

export type FieldErrors = Record<string, string[]>;
export type UserErrorLike = { field?: readonly string[] | null; code: string; message: string };

// The gateway's messages are English; the codes it documents get Danish text here, any other code
// keeps the gateway's message.
const MESSAGES: Record<string, string> = {
  REQUIRED: "Skal udfyldes.",
  INVALID_EMAIL: "Ikke en gyldig e-mailadresse.",
  DUPLICATE_EMAIL: "E-mailadressen bruges allerede af en anden bruger i organisationen.",
  INVALID_CPR: "CPR-nummeret skal være 10 cifre (DDMMÅÅ-XXXX) og begynde med en gyldig fødselsdato, der ikke ligger i fremtiden.",
  DUPLICATE_CPR: "Der findes allerede en bruger med dette CPR-nummer.",
  CPR_OR_DATE_OF_BIRTH: "Angiv enten et CPR-nummer eller en fødselsdato.",
  INVALID_DATE: "Ikke en gyldig dato (og den må ikke ligge i fremtiden).",
  INVALID_PHONE: "Ikke et gyldigt telefonnummer.",
  INVALID_P_NUMBER: "P-nummeret skal være 10 cifre.",
  UNKNOWN_P_NUMBER: "P-enheden hører ikke til organisationen.",
  INVALID_CHARACTERS: "Feltet indeholder tegn, der ikke er tilladt.",
  TOO_LONG: "Teksten er for lang.",
  INVALID_PERIOD: "Perioden er ugyldig: slutdatoen skal ligge efter startdatoen.",
  INVALID_STATUS: "Handlingen kan ikke udføres i brugerens nuværende status.",
};

export function messageOf(e: UserErrorLike): string {
  return MESSAGES[e.code] ?? (e.message || e.code);
}

/** userErrors by their field's name (the last part of its path); "" for errors of the whole form. */
export function byField(errors: readonly UserErrorLike[], known: readonly string[]): FieldErrors {
  const out: FieldErrors = {};
  for (const e of errors) {
    const name = e.field?.length ? e.field[e.field.length - 1] : "";
    const key = known.includes(name) ? name : "";
    (out[key] ??= []).push(messageOf(e));
  }
  return out;
}

type InputProps = InputHTMLAttributes<HTMLInputElement> & { label: string; errors?: string[]; hint?: string };

export function TextField({ label, errors, hint, id, ...rest }: InputProps) {
  const auto = useId();
  const fieldId = id ?? auto;
  const errorId = `${fieldId}-fejl`;
  const hintId = `${fieldId}-hjaelp`;
  const described = [hint ? hintId : null, errors?.length ? errorId : null].filter(Boolean).join(" ") || undefined;
  return (
    <div className="field">
      <label htmlFor={fieldId}>{label}</label>
      {hint ? (
        <span className="hint" id={hintId}>
          {hint}
        </span>
      ) : null}
      <input id={fieldId} aria-invalid={errors?.length ? true : undefined} aria-describedby={described} {...rest} />
      {errors?.length ? (
        <span className="field-error" id={errorId}>
          {errors.join(" ")}
        </span>
      ) : null}
    </div>
  );
}

type SelectProps = SelectHTMLAttributes<HTMLSelectElement> & { label: string; errors?: string[] };

export function SelectField({ label, errors, id, children, ...rest }: SelectProps) {
  const auto = useId();
  const fieldId = id ?? auto;
  const errorId = `${fieldId}-fejl`;
  return (
    <div className="field">
      <label htmlFor={fieldId}>{label}</label>
      <select
        id={fieldId}
        aria-invalid={errors?.length ? true : undefined}
        aria-describedby={errors?.length ? errorId : undefined}
        {...rest}
      >
        {children}
      </select>
      {errors?.length ? (
        <span className="field-error" id={errorId}>
          {errors.join(" ")}
        </span>
      ) : null}
    </div>
  );
}

export function CheckField({ label, id, ...rest }: InputHTMLAttributes<HTMLInputElement> & { label: string }) {
  const auto = useId();
  const fieldId = id ?? auto;
  return (
    <div className="check">
      <input type="checkbox" id={fieldId} {...rest} />
      <label htmlFor={fieldId}>{label}</label>
    </div>
  );
}

/** Errors of the whole form (or of the request): announced at once. */
export function FormErrors({ errors }: { errors?: string[] }) {
  if (!errors?.length) return null;
  return (
    <div className="alert" role="alert">
      {errors.map((e, i) => (
        <p key={i}>{e}</p>
      ))}
    </div>
  );
}

export function requestErrors(error: CombinedError | undefined): string[] | undefined {
  if (!error) return undefined;
  if (error.networkError) return ["Gatewayen kunne ikke nås. Prøv igen."];
  return error.graphQLErrors.map((e) => {
    const code = e.extensions?.code;
    if (code === "FORBIDDEN") return "Din rolle giver ikke adgang til dette.";
    if (code === "UNAUTHENTICATED") return "Dit login er udløbet. Log ind igen.";
    return e.message;
  });
}

export function Loading() {
  return (
    <p role="status" className="muted">
      Henter…
    </p>
  );
}

export const STATUS_NAMES: Record<UserStatus, string> = {
  CREATED: "Oprettet",
  PENDING_ACTIVATION: "Afventer aktivering",
  ACTIVE: "Aktiv",
  DEACTIVATED: "Deaktiveret",
  DELETED: "Slettet",
};

export const STATUSES: readonly UserStatus[] = ["CREATED", "PENDING_ACTIVATION", "ACTIVE", "DEACTIVATED", "DELETED"];

export function formatDate(value: string | null | undefined): string {
  if (!value) return "–";
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return value;
  return date.toLocaleDateString("da-DK", { year: "numeric", month: "long", day: "numeric" });
}

export function formatDateTime(value: string | null | undefined): string {
  if (!value) return "–";
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return value;
  return date.toLocaleString("da-DK", { dateStyle: "long", timeStyle: "short" });
}

export function yesNo(value: boolean): string {
  return value ? "Ja" : "Nej";
}
