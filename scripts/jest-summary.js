// Prints the jest runs' JSON reports as one closing line that any CI reads:
// "tests: N passed, N failed, N skipped".
const { existsSync } = require("node:fs");
const path = require("node:path");

const reports = ["jest.json", "jest-e2e.json"]
  .map((name) => path.join(__dirname, "../test-output", name))
  .filter((file) => existsSync(file))
  .map((file) => require(file));
const sum = (field) => reports.reduce((total, report) => total + (report[field] ?? 0), 0);
const skipped = sum("numPendingTests") + sum("numTodoTests");
console.log(`tests: ${sum("numPassedTests")} passed, ${sum("numFailedTests")} failed, ${skipped} skipped`);
const broken = sum("numRuntimeErrorTestSuites");
if (broken > 0) console.log(`(${broken} test files failed to run)`);
