#!/usr/bin/python3
"""rnnx-codegen with several weight files (a model set, docs/codegen.md): the header declares
each file's type and <name>_set = rnnx::model_set<...> and embeds no weights; names, duplicate
architectures and bad files are refused in one line naming the problem, writing nothing.
Compiling such a header and loading files through it: codegen_model_set_test.cpp."""

import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

from rnnx_codegen_test import TOOL, dense, document, recurrent


class ModelSetHeader(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        self.out = os.path.join(self.dir, "set.hpp")

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, name, doc):
        path = os.path.join(self.dir, name)
        with open(path, "w", encoding="utf-8") as f:
            json.dump(doc, f)
        return path

    def run_tool(self, *args):
        return subprocess.run([sys.executable, TOOL] + list(args), capture_output=True,
                              text=True)

    def header(self):
        with open(self.out, encoding="utf-8") as f:
            return f.read()

    def assert_fails(self, pattern, *args, status=1):
        result = self.run_tool(*args)
        self.assertEqual(result.returncode, status, result.stderr)
        lines = result.stderr.splitlines()
        self.assertEqual(len(lines), 1, result.stderr)
        self.assertRegex(lines[0], r"^rnnx-codegen: error: ")
        self.assertRegex(lines[0], pattern)
        self.assertFalse(os.path.exists(self.out), "an output file was written")

    def three_files(self):
        return (self.write("a.json", document(recurrent("lstm", 1, 8), dense(8, 1))),
                self.write("b.json", document(recurrent("gru", 1, 4), dense(4, 1, "tanh"))),
                self.write("c.json", document(recurrent("lstm", 1, 8), dense(8, 1),
                                              dtype="float64")))

    def test_types_and_set_alias_without_weights(self):
        a, b, c = self.three_files()
        result = self.run_tool(a, b, c, "-o", self.out, "--name", "Amp", "--namespace", "dsp")
        self.assertEqual(result.returncode, 0, result.stderr)
        text = self.header()
        self.assertIn("using Amp_0 = rnnx::basic_network<float, rnnx::lstm<1, 8>, "
                      "rnnx::dense<8, 1, rnnx::identity>>;", text)
        self.assertIn("using Amp_1 = rnnx::basic_network<float, rnnx::gru<1, 4>, "
                      "rnnx::dense<4, 1, rnnx::tanh>>;", text)
        # The float64 file of the same layers is another architecture: a double model.
        self.assertIn("using Amp_2 = rnnx::basic_network<double, rnnx::lstm<1, 8>, "
                      "rnnx::dense<8, 1, rnnx::identity>>;", text)
        self.assertIn("using Amp_set = rnnx::model_set<Amp_0, Amp_1, Amp_2>;", text)
        self.assertIn("#include <rnnx/realtime/model_set.hpp>", text)
        self.assertIn("namespace dsp {", text)
        self.assertNotIn("constexpr", text)  # no weight arrays
        self.assertNotIn("fill_", text)
        for name in ("a.json", "b.json", "c.json"):
            self.assertRegex(text, r"// Amp_\d: %s \(float(32|64)\), SHA-256 [0-9a-f]{64}\n"
                             % re.escape(name))
        self.assertIn("//   network: gru<1, 4> -> dense<4, 1, tanh> (float)", text)
        self.assertIn("rnnx-codegen: 3 weight files -> %s" % self.out, result.stdout)

    def test_names_and_single_file_set(self):
        a, b, _ = self.three_files()
        self.assertEqual(self.run_tool(a, b, "-o", self.out, "--names", "Lstm8,Gru4",
                                       "-q").returncode, 0)
        text = self.header()
        self.assertIn("using Lstm8 = ", text)
        self.assertIn("using Model_set = rnnx::model_set<Lstm8, Gru4>;", text)
        self.assertEqual(self.run_tool(a, "-o", self.out, "--set", "-q").returncode, 0)
        text = self.header()
        self.assertIn("using Model_set = rnnx::model_set<Model_0>;", text)
        self.assertIn(" --set -o <this file>", text)

    def test_deterministic(self):
        a, b, _ = self.three_files()
        outputs = []
        for _ in range(2):
            self.assertEqual(self.run_tool(a, b, "-o", self.out, "-q").returncode, 0)
            outputs.append(self.header())
        self.assertEqual(outputs[0], outputs[1])

    def test_bad_names(self):
        a, b, _ = self.three_files()
        self.assert_fails(r"--names is for several weight files", a, "-o", self.out, "--names",
                          "A")
        self.assert_fails(r"--names lists 1 names for 2 weight files", a, b, "-o", self.out,
                          "--names", "A")
        self.assert_fails(r'--names entry "2x" is not a C\+\+ identifier', a, b, "-o", self.out,
                          "--names", "A,2x")
        self.assert_fails(r'--names: "A" is used twice', a, b, "-o", self.out, "--names", "A,A")
        self.assert_fails(r'--names: "Amp_set" is used twice \(the set itself is Amp_set\)', a, b,
                          "-o", self.out, "--name", "Amp", "--names", "A,Amp_set")

    def test_same_architecture_twice_is_refused(self):
        a, b, _ = self.three_files()
        again = self.write("again.json", document(recurrent("lstm", 1, 8), dense(8, 1)))
        self.assert_fails(r"again\.json: has the same architecture as .*a\.json \(lstm<1, 8> -> "
                          r"dense<8, 1, identity>, float\); a model set lists each architecture "
                          r"once$", a, b, again, "-o", self.out)

    def test_a_bad_file_is_named(self):
        a, _, _ = self.three_files()
        bad = self.write("bad.json", document(recurrent("lstm", 1, 8), dense(7, 1)))
        self.assert_fails(r"bad\.json: layer 1 \(dense<7, 1, identity>\) expects 7 inputs", a, bad,
                          "-o", self.out)
        self.assert_fails(r"absent\.json: cannot read", a,
                          os.path.join(self.dir, "absent.json"), "-o", self.out)
        self.assert_fails(r"-o OUTPUT is required", a, bad)


if __name__ == "__main__":
    unittest.main()
