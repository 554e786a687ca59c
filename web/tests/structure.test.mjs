// The web app's layout rules (STYLE.md 13a, 15): pages never import pages, components never
// import pages, no page but through the route table, and every module is type-checked.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";

const JS = resolve(dirname(fileURLToPath(import.meta.url)), "../js");

function modules(dir = JS) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? modules(join(dir, entry.name)) : entry.name.endsWith(".js") ? [join(dir, entry.name)] : [],
  );
}

function importsOf(file) {
  const text = readFileSync(file, "utf8");
  return [...text.matchAll(/^import\s[^"']*["']([^"']+)["']/gm)]
    .map((match) => match[1])
    .filter((spec) => spec.startsWith("."))
    .map((spec) => relative(JS, resolve(dirname(file), spec)));
}

describe("module layout", () => {
  const all = modules().map((file) => [relative(JS, file), importsOf(file)]);

  test("no page imports another page (only the base page)", () => {
    for (const [name, imports] of all.filter(([n]) => n.startsWith("pages/"))) {
      const pages = imports.filter((spec) => spec.startsWith("pages/") && spec !== "pages/page.js");
      assert.deepEqual(pages, [], name);
    }
  });
  test("components, slices and the pure modules never import pages", () => {
    for (const [name, imports] of all.filter(([n]) => !n.startsWith("pages/") && n !== "routes.js")) {
      assert.deepEqual(imports.filter((spec) => spec.startsWith("pages/")), [], name);
    }
  });
  test("only the route table imports the pages", () => {
    const importers = all.filter(([, imports]) => imports.some((spec) => spec.startsWith("pages/") && spec !== "pages/page.js"));
    assert.deepEqual(importers.map(([name]) => name).filter((name) => !name.startsWith("pages/")), ["routes.js"]);
  });
  test("every module starts with // @ts-check", () => {
    for (const [name] of all) {
      assert.ok(readFileSync(join(JS, name), "utf8").startsWith("// @ts-check\n"), name);
    }
  });
  test("no module sets innerHTML", () => {
    for (const [name] of all) {
      assert.ok(!/\.innerHTML\s*=/.test(readFileSync(join(JS, name), "utf8")), name);
    }
  });
});
