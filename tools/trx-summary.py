"""Sums the outcome counters of every .trx file in a folder and prints the skipped tests with their reasons, then
the failed ones with the head of their message (last, so that a CI log that keeps only its tail still shows why),
then the closing line 'N passed, N failed, N skipped'. Exits 1 when anything failed or no test ran."""
import glob
import sys
import xml.etree.ElementTree as ET

NS = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
folder = sys.argv[1]


def message(result):
    m = result.find(".//t:Output/t:ErrorInfo/t:Message", NS)
    return (m.text or "").strip() if m is not None else ""


passed = failed = skipped = 0
failures = []
files = sorted(glob.glob(f"{folder}/**/*.trx", recursive=True))
for path in files:
    root = ET.parse(path).getroot()
    for r in root.iterfind(".//t:UnitTestResult", NS):
        outcome = r.get("outcome")
        name = r.get("testName")
        if outcome == "Passed":
            passed += 1
        elif outcome == "NotExecuted":
            skipped += 1
            print(f"SKIPPED {name}: {message(r)}")
        else:
            failed += 1
            lines = message(r).splitlines()
            failures.append(f"FAILED  {name}" + "".join(f"\n        {line}" for line in lines[:12]))
for f in failures:
    print(f)
if not files:
    print("no test results were written")
    failed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed or passed == 0 else 0)
