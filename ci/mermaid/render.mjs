// Render the Mermaid diagrams of a wqcheck Markdown report (`--markdown FILE`) to PNG
// files in headless Chromium, and check that each has one lifeline per participant the
// diagram declares. Run through ci/render-mermaid.sh, which installs what it needs.
//
//   node render.mjs REPORT.md OUT_DIR
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const [report, outDir] = process.argv.slice(2);
const require = createRequire(import.meta.url);
const mermaidJs = readFileSync(require.resolve("mermaid/dist/mermaid.min.js"), "utf8");
const blocks = [...readFileSync(report, "utf8").matchAll(/```mermaid\n([\s\S]*?)```/g)].map(
  (m) => m[1],
);
if (blocks.length === 0) {
  console.error(`${report}: no mermaid diagram`);
  process.exit(1);
}
mkdirSync(outDir, { recursive: true });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox"],
});
const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
await page.setContent("<html><body><div id='d'></div></body></html>");
await page.addScriptTag({ content: mermaidJs });
let failed = false;
for (const [i, text] of blocks.entries()) {
  const declared = [...text.matchAll(/^\s*participant (\S+) as (.*)$/gm)].map((m) => m[2]);
  const result = await page.evaluate(async (src) => {
    window.mermaid.initialize({ startOnLoad: false, securityLevel: "strict" });
    try {
      const { svg } = await window.mermaid.render("diagram", src);
      document.getElementById("d").innerHTML = svg;
      // A lifeline is a participant's vertical line: one per actor.
      const lines = document.querySelectorAll("#d svg line.actor-line").length;
      return { ok: true, lines };
    } catch (e) {
      return { ok: false, error: String(e && e.message ? e.message : e) };
    }
  }, text);
  if (!result.ok) {
    console.error(`diagram ${i + 1}: Mermaid cannot render it: ${result.error}`);
    failed = true;
    continue;
  }
  const file = `${outDir}/diagram-${i + 1}.png`;
  await (await page.$("#d svg")).screenshot({ path: file });
  const ok = result.lines === declared.length;
  console.log(
    `${file}: ${result.lines} lifelines for ${declared.length} participants (${declared.join(", ")})${ok ? "" : ": MISMATCH"}`,
  );
  failed ||= !ok;
}
await browser.close();
process.exit(failed ? 1 : 0);
