"""Sums the outcome counters of every .trx file in a folder and prints skipped/failed test names, then
the closing line 'N passed, N failed, N skipped'. Exits 1 when anything failed or no test ran."""
import glob
import sys
import xml.etree.ElementTree as ET

NS = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
folder = sys.argv[1]
passed = failed = skipped = 0
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
            msg = r.find(".//t:Output/t:ErrorInfo/t:Message", NS)
            reason = msg.text.strip() if msg is not None and msg.text else ""
            print(f"SKIPPED {name}: {reason}")
        else:
            failed += 1
            print(f"FAILED  {name}")
if not files:
    print("no test results were written")
    failed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed or passed == 0 else 0)
