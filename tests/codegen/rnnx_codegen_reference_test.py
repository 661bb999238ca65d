#!/usr/bin/python3
"""rnnx-codegen and a weight file's "reference" (docs/weights-format.md): validated with the
loaders' messages (tests/reference_test.cpp checks the same texts in C++), baked into the header
as <Name>_reference and self_test_<Name>() only when present, required by --require-reference.
Compiling and running self_test_<Name>() is codegen_reference_test's."""

import copy
import json
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import rnnx_codegen_test as tool_test  # noqa: E402

REFERENCE = os.path.join(HERE, "..", "data", "reference", "lstm_2_8__dense_3_tanh.json")


def with_reference():
    with open(REFERENCE, encoding="utf-8") as f:
        return json.load(f)


class Reference(unittest.TestCase):
    # rnnx_codegen_test's helpers, not its tests
    setUp, tearDown = tool_test.Tool.setUp, tool_test.Tool.tearDown
    write, run_tool = tool_test.Tool.write, tool_test.Tool.run_tool
    generate, assert_fails = tool_test.Tool.generate, tool_test.Tool.assert_fails

    def refused(self, change):
        """The one-line message for the reference file with change(reference) applied."""
        document = with_reference()
        change(document["reference"])
        line = self.assert_fails(document, r"model\.json: ")
        return line.split("model.json: ", 1)[1]

    def test_malformed_reference_gives_the_loaders_messages(self):
        def big(r):
            r["inputs"] = [[0, 0]] * 100001

        cases = [
            (lambda r: r.update(x=1),
             "reference: unknown field \"x\" (it holds inputs, outputs and tolerance)"),
            (lambda r: r.pop("tolerance"), "reference: field 'tolerance' is missing"),
            (lambda r: r.update(tolerance=0),
             "reference 'tolerance' is 0; it must be a positive finite number"),
            (lambda r: r.update(inputs=[]),
             "reference 'inputs' must be a non-empty list of steps, found []"),
            (lambda r: r["inputs"][5].append(1.0),
             "reference 'inputs' step 5 must hold 2 numbers (the model's input size), found 3 "
             "entries"),
            (lambda r: r["outputs"].pop(),
             "reference 'outputs' must be a list of 24 steps (as many as 'inputs'), found 23 "
             "entries"),
            (lambda r: r["outputs"].__setitem__(4, "x"),
             "reference 'outputs' step 4 must hold 3 numbers (the model's output size), found a "
             "string"),
            (lambda r: r["outputs"][4].__setitem__(1, None),
             "reference 'outputs'[4][1] is null, not a finite number"),
            (big, "reference holds 100001 steps; a reference holds at most 100000 steps and "
                  "4194304 values"),
        ]
        for change, message in cases:
            with self.subTest(message=message):
                self.assertEqual(self.refused(change), message)
        document = with_reference()
        document["reference"] = []
        self.assertTrue(self.assert_fails(document, "x").endswith(
            "'reference' must be an object, found an array"))

    def test_header_carries_the_reference_and_the_self_test(self):
        result, text = self.generate(with_reference(), "--name", "Lstm", "-q")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("inline constexpr std::size_t steps = 24;", text)
        self.assertIn("inline constexpr double tolerance = 1e-05;", text)
        reference = with_reference()["reference"]
        inputs = tool_test.literals(text, "inline constexpr float inputs[24][2]")
        self.assertEqual([float(v.rstrip("f")) for v in inputs[:2]],
                         [float("%.9g" % v) for v in reference["inputs"][0]])
        outputs = tool_test.literals(text, "inline constexpr double outputs[24][3]")
        self.assertEqual([float(v) for v in outputs], [v for row in reference["outputs"]
                                                       for v in row])
        self.assertIn("inline bool self_test_Lstm() {", text)
        self.assertIn("#include <cmath>", text)
        self.assertIn("#include <span>", text)

        # without the reference: no trace of it, and --require-reference refuses the file
        document = with_reference()
        del document["reference"]
        result, plain = self.generate(document, "--name", "Lstm", "-q")
        self.assertEqual(result.returncode, 0, result.stderr)
        for absent in ("_reference", "self_test_", "<cmath>", "<span>"):
            self.assertNotIn(absent, plain)
        os.remove(os.path.join(self.dir, "out.hpp"))
        self.assert_fails(document, r"the file has no 'reference' for self_test_Lstm\(\) "
                                    r"\(--require-reference; export_torch.py writes one unless "
                                    r"given --no-reference\)$", "--name", "Lstm",
                          "--require-reference")

    def test_token_ids_must_be_in_the_vocabulary(self):
        path = os.path.join(HERE, "..", "data", "reference", "embedding_7_4__bigru_3__dense_2.json")
        with open(path, encoding="utf-8") as f:
            document = json.load(f)
        result, text = self.generate(copy.deepcopy(document), "-q")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("model->forward(xs)", text)  # bidirectional: no streaming step
        os.remove(os.path.join(self.dir, "out.hpp"))
        document["reference"]["inputs"][3] = [7]
        self.assert_fails(document, r"reference 'inputs'\[3\]\[0\] = 7.0 is not a token id of "
                                    r"embedding<7, \.\.\.> \(an integer in \[0, 7\)\)$")


if __name__ == "__main__":
    unittest.main()
