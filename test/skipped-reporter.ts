// Lists every skipped test by its full name after the run: the names carry the reason (no trained weights, no
// full-size model, not root, …), which the default reporter would fold into a count.
import type { Reporter, TestModule } from 'vitest/node';

export default class SkippedReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const skipped: string[] = [];
    for (const m of testModules) {
      for (const t of m.children.allTests()) if (t.result().state === 'skipped') skipped.push(`  ↓ ${m.moduleId.replace(`${process.cwd()}/`, '')} > ${t.fullName}`);
    }
    if (skipped.length > 0) console.log(`\nSkipped (${skipped.length}), with the reason in each name:\n${skipped.join('\n')}\n`);
  }
}
