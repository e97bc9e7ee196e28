// Prints jest's JSON report as one closing line that any CI reads: "tests: N passed, N failed, N skipped".
const report = require("../test-output/jest.json");
const skipped = report.numPendingTests + report.numTodoTests;
console.log(`tests: ${report.numPassedTests} passed, ${report.numFailedTests} failed, ${skipped} skipped`);
if (report.numRuntimeErrorTestSuites > 0) console.log(`(${report.numRuntimeErrorTestSuites} test files failed to run)`);
