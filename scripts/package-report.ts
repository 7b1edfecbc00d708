/**
 * npm run package:report -- [directory]
 *
 * Prints each function's bundle (uncompressed) and zip size from a `sls package` output directory
 * (default .serverless) against the 150 KB budget and the documented exceptions; exits 1 when a
 * function is over its limit. `npm run package` prints the same table after packaging.
 */
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { ROOT } from './lib/env.js';
import { formatPackageReport, packageReport } from './lib/package-report.js';

function main(): number {
  const directory = process.argv[2] ?? `${ROOT}.serverless`;
  if (!existsSync(directory)) {
    console.error(`package-report: ${directory} does not exist (run npm run package first)`);
    return 2;
  }
  const report = packageReport(directory);
  if (report.functions.length === 0) {
    console.error(`package-report: no function zips in ${directory}`);
    return 2;
  }
  console.log(formatPackageReport(report));
  return report.ok ? 0 : 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = main();
}
