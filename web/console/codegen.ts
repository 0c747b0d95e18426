// Typed documents from the gateway's schema (../../schema.graphql): every operation of the console
// is checked against it when `npm run build` runs (a field that is gone fails the build).
// Persisted documents: each document carries its SHA-256 (`__meta__.hash`) and src/gql/persisted-
// documents.json maps hash → text; the build copies it into var/console, where the gateway registers
// it at start-up, and the console sends only hashes (src/client.ts). `__typename` is added to every
// selection here, as graphcache would add it, so the registered text is what the cache needs.
import { addTypenameSelectionDocumentTransform } from "@graphql-codegen/client-preset";
import type { CodegenConfig } from "@graphql-codegen/cli";

const config: CodegenConfig = {
  schema: "../../schema.graphql",
  documents: ["src/**/*.{ts,tsx}", "!src/gql/**/*"],
  ignoreNoDocuments: false,
  generates: {
    "src/gql/": {
      preset: "client",
      presetConfig: { fragmentMasking: false, persistedDocuments: { hashAlgorithm: "sha256" } },
      documentTransforms: [addTypenameSelectionDocumentTransform],
      config: { enumsAsTypes: true, useTypeImports: true, scalars: { ID: "string", DateTime: "string", Date: "string", UUID: "string" } },
    },
  },
};

export default config;
