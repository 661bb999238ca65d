#!/usr/bin/python3
"""Copy a weight file with one reference output moved: tamper_reference.py IN OUT STEP INDEX DELTA.
The codegen tests bake the copy into a header whose self_test_<Name>() must then fail."""

import json
import sys

source, target, step, index, delta = sys.argv[1:]
with open(source, encoding="utf-8") as f:
    document = json.load(f)
document["reference"]["outputs"][int(step)][int(index)] += float(delta)
with open(target, "w", encoding="utf-8") as f:
    json.dump(document, f)
