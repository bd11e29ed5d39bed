// The plugin boundary (docs/dev/CONVENTIONS.md): devices/, drivers/ and examples/ never import
// testbench/; sdk/ imports nothing from testbench/, devices/ or drivers/, and takes only types
// from the DI library, so that it stays free of simulator code.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

interface ImportRef {
  readonly specifier: string;
  /** True when the import is erased from the JavaScript output. */
  readonly typeOnly: boolean;
  readonly line: number;
}

/** Every module reference in a source text: static, re-export, dynamic, require, import type. */
function importsOf(fileName: string, text: string): ImportRef[] {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const refs: ImportRef[] = [];
  const add = (spec: ts.Node, typeOnly: boolean) => {
    if (!ts.isStringLiteralLike(spec)) return;
    refs.push({ specifier: spec.text, typeOnly, line: sf.getLineAndCharacterOfPosition(spec.getStart()).line + 1 });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      // `import { type A } from "m"` still loads "m" under verbatimModuleSyntax; only `import type` is erased.
      add(node.moduleSpecifier, node.importClause?.isTypeOnly === true);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier) {
      add(node.moduleSpecifier, node.isTypeOnly);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node.moduleReference.expression, node.isTypeOnly);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node.argument.literal, true);
    } else if (ts.isCallExpression(node) && node.arguments.length > 0) {
      const callee = node.expression;
      const isDynamicImport = callee.kind === ts.SyntaxKind.ImportKeyword;
      const isRequire = ts.isIdentifier(callee) && callee.text === "require";
      if (isDynamicImport || isRequire) add(node.arguments[0]!, false);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return refs;
}

type Layer = "sdk" | "devices" | "drivers" | "testbench" | "examples" | "other";

/** The layer a module reference points at, seen from a file at `fromFile` (relative to the repo root). */
function targetLayer(fromFile: string, specifier: string): Layer | "tsyringe" | "reflect-metadata" {
  if (specifier.startsWith(".")) {
    const target = relative(root, resolve(root, dirname(fromFile), specifier)).split(sep).join("/");
    const top = target.split("/")[0];
    return top === "sdk" || top === "devices" || top === "drivers" || top === "testbench" || top === "examples" ? top : "other";
  }
  const pkg = /^vdtb\/([^/]+)/.exec(specifier)?.[1];
  if (pkg === "testbench" || pkg === "vitest") return "testbench";
  if (pkg === "sdk" || pkg === "devices" || pkg === "drivers") return pkg;
  if (specifier === "tsyringe" || specifier.startsWith("tsyringe/")) return "tsyringe";
  if (specifier === "reflect-metadata") return "reflect-metadata";
  return "other";
}

/** Layering violations in one source file; `file` is relative to the repo root. */
function violations(file: string, text: string): string[] {
  const layer = file.split("/")[0];
  const out: string[] = [];
  for (const ref of importsOf(file, text)) {
    const target = targetLayer(file, ref.specifier);
    const where = `${file}:${ref.line} imports "${ref.specifier}"`;
    if ((layer === "devices" || layer === "drivers" || layer === "examples") && target === "testbench") {
      out.push(`${where}: plugins may import only the SDK, never testbench/`);
    }
    if (layer === "sdk") {
      if (target === "testbench" || target === "devices" || target === "drivers") {
        out.push(`${where}: sdk/ must not depend on ${target}/`);
      }
      if ((target === "tsyringe" || target === "reflect-metadata") && !ref.typeOnly) {
        out.push(`${where}: sdk/ may use ${target} for types only (\`import type\`)`);
      }
    }
  }
  return out;
}

const isSource = (name: string) => /\.(c|m)?(t|j)sx?$/.test(name) && !/\.(test|spec)\.(c|m)?(t|j)sx?$/.test(name);

function* sourceFiles(dir: string): Generator<string> {
  let entries;
  try {
    entries = readdirSync(join(root, dir), { withFileTypes: true });
  } catch {
    return; // folder not there (yet)
  }
  for (const e of entries) {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) {
      if (e.name !== "node_modules" && e.name !== "dist") yield* sourceFiles(rel);
    } else if (isSource(e.name)) {
      yield rel;
    }
  }
}

describe("layering", () => {
  it("keeps devices/, drivers/ and examples/ off testbench/, and sdk/ simulator-free", () => {
    const found: string[] = [];
    let scanned = 0;
    for (const dir of ["sdk", "devices", "drivers", "examples"]) {
      for (const file of sourceFiles(dir)) {
        scanned++;
        found.push(...violations(file, readFileSync(join(root, file), "utf8")));
      }
    }
    expect(scanned).toBeGreaterThan(0);
    expect(found).toEqual([]);
  });

  describe("the scanner itself", () => {
    it("flags a device that reaches into testbench/ by path, by package or dynamically", () => {
      const bad = [
        `import { Bus } from "../../testbench/soc/bus.js";`,
        `import type { Testbench } from "vdtb/testbench";`,
        `export { toBeClean } from "vdtb/vitest";`,
        `const m = await import("../../testbench/index.js");`,
      ].join("\n");
      expect(violations("devices/uart/device.ts", bad)).toHaveLength(4);
      expect(violations("examples/plugin/driver.ts", bad)).toHaveLength(4);
    });

    it("accepts a driver that imports the SDK and its own files", () => {
      const good = [
        `import { ENOMEM, type PhysAddr } from "vdtb/sdk";`,
        `import { regs } from "./registers.js";`,
        `import { physAddr } from "../../sdk/index.js";`,
        `// import { Bus } from "../testbench/soc/bus.js";`,
      ].join("\n");
      expect(violations("drivers/sgdma/driver.ts", good)).toEqual([]);
    });

    it("flags sdk/ importing lower layers or tsyringe at run time", () => {
      const bad = [
        `import { Bus } from "../testbench/soc/bus.js";`,
        `import { uart } from "../devices/index.js";`,
        `import { inject } from "tsyringe";`,
        `import { type InjectionToken } from "tsyringe";`,
        `import "reflect-metadata";`,
        `const { container } = require("tsyringe");`,
      ].join("\n");
      expect(violations("sdk/device.ts", bad)).toHaveLength(6);
    });

    it("lets sdk/ take types from tsyringe", () => {
      const good = [
        `import type { InjectionToken } from "tsyringe";`,
        `export type { DependencyContainer } from "tsyringe";`,
        `type Lifecycle = import("tsyringe").Lifecycle;`,
      ].join("\n");
      expect(violations("sdk/tokens.ts", good)).toEqual([]);
    });
  });
});
