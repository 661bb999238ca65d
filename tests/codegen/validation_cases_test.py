#!/usr/bin/python3
"""The shared validation cases (tests/data/validation_cases.json) through rnnx-codegen: each
case's document must be refused with one line on stderr that contains the case's problem
text, the text tests/validation_cases_test.cpp expects of rnnx's C++ loaders."""

import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TOOL = os.path.join(HERE, "..", "..", "codegen", "rnnx-codegen")
CASES = os.path.join(HERE, "..", "data", "validation_cases.json")
ALL_TOOLS = ["load_weights", "dynamic", "model_set", "codegen"]


def document_bytes(document):
    """The bytes a case's "document" stands for: a string (its UTF-8 text), or a list of
    pieces, each a string, {"hex": "E9 FF"} (those bytes) or {"repeat": "k", "times": 100}."""
    if isinstance(document, str):
        return document.encode("utf-8")
    data = b""
    for piece in document:
        if isinstance(piece, str):
            data += piece.encode("utf-8")
        elif "hex" in piece:
            data += bytes.fromhex(piece["hex"])
        else:
            data += piece["repeat"].encode("utf-8") * piece["times"]
    return data


def load_cases():
    with open(CASES, encoding="utf-8") as f:
        return json.load(f)["cases"]


class ValidationCases(unittest.TestCase):
    def test_the_file_holds_the_cases_the_issue_lists(self):
        cases = load_cases()
        self.assertGreaterEqual(len(cases), 15)
        names = [c["name"] for c in cases]
        self.assertEqual(len(names), len(set(names)), "two cases share a name")
        for case in cases:
            self.assertLessEqual(set(case.get("tools", ALL_TOOLS)), set(ALL_TOOLS), case["name"])

    def test_codegen_gives_each_cases_problem_text(self):
        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "model.json")
            for case in load_cases():
                if "codegen" not in case.get("tools", ALL_TOOLS):
                    continue
                with self.subTest(case=case["name"]):
                    with open(path, "wb") as f:
                        f.write(document_bytes(case["document"]))
                    options = ["--check", "-q"]
                    if "max_file_bytes" in case:
                        options += ["--max-file-bytes", str(case["max_file_bytes"])]
                    result = subprocess.run([sys.executable, TOOL, path] + options,
                                            capture_output=True, text=True, errors="replace")
                    self.assertEqual(result.returncode, 1, result.stderr)
                    lines = result.stderr.splitlines()
                    self.assertEqual(len(lines), 1, "not one line: %r" % result.stderr)
                    self.assertIn(case["problem"], lines[0])


if __name__ == "__main__":
    unittest.main()
