// Typed documents from the gateway's schema (../../schema.graphql): every operation of the console
// is checked against it when `npm run build` runs (a field that is gone fails the build).
import type { CodegenConfig } from "@graphql-codegen/cli";

const config: CodegenConfig = {
  schema: "../../schema.graphql",
  documents: ["src/**/*.{ts,tsx}", "!src/gql/**/*"],
  ignoreNoDocuments: false,
  generates: {
    "src/gql/": {
      preset: "client",
      presetConfig: { fragmentMasking: false },
      config: { enumsAsTypes: true, useTypeImports: true, scalars: { ID: "string", DateTime: "string", Date: "string", UUID: "string" } },
    },
  },
};

export default config;
