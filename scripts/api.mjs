// Accept a public API change: regenerate the declarations and rewrite etc/vdtb-<entry>.api.md
// (api-extractor --local). Review `git diff etc/` and commit it with the change.
import { emitDeclarations, extractApi } from "./build.mjs";

try {
  emitDeclarations();
  await extractApi({ local: true, failOnChange: false });
  console.log("API reports updated in etc/; review with `git diff etc/`.");
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
}
