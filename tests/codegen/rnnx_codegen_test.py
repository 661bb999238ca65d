#!/usr/bin/python3
"""rnnx-codegen as a user runs it: every input problem is one line on stderr naming it, a
non-zero exit status, and no output file (nor a changed one); valid inputs give the header
and summary described in docs/codegen.md. The C++ side (compiling generated headers,
comparing them with load_weights and PyTorch) is in the *_test.cpp files next to this one."""

import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TOOL = os.path.join(HERE, "..", "..", "codegen", "rnnx-codegen")
FIXTURES = os.path.join(HERE, "..", "data", "fixtures")


def vector(n, value=0.25):
    return [value] * n


def matrix(rows, cols, value=0.25):
    return [[value] * cols for _ in range(rows)]


def recurrent(kind, i, h, **options):
    g = {"lstm": 4, "gru": 3, "rnn": 1}[kind]
    layer = {"type": kind, "input_size": i, "hidden_size": h}
    layer.update(options)
    layer["parameters"] = {"weight_ih": matrix(g * h, i), "weight_hh": matrix(g * h, h),
                           "bias_ih": vector(g * h), "bias_hh": vector(g * h)}
    return layer


def dense(i, o, activation="identity"):
    return {"type": "dense", "in_features": i, "out_features": o, "activation": activation,
            "parameters": {"weight": matrix(o, i), "bias": vector(o)}}


def document(*layers, dtype="float32"):
    return {"format": "rnnx.weights", "version": 1, "dtype": dtype, "layers": list(layers)}


def float32_bits(value):
    return struct.pack("<f", value)


def literals(header, declaration):
    """The literals of one generated array, e.g. literals(text, "layer0_weight[1][9]")."""
    start = header.index(declaration + " = {")
    body = header[start:header.index("};", start)].split("{", 1)[1]
    return [v for v in re.split(r"[\s{},]+", body) if v]


def valid():
    return document(recurrent("lstm", 1, 3), dense(3, 1))


def embedding(vocab, dim):
    return {"type": "embedding", "num_embeddings": vocab, "embedding_dim": dim,
            "parameters": {"weight": matrix(vocab, dim)}}


def peephole_lstm(i, h):
    layer = recurrent("lstm", i, h)
    layer["type"] = "peephole_lstm"
    layer["parameters"].update(weight_ci=vector(h), weight_cf=vector(h), weight_co=vector(h))
    return layer


def layer_norm(n):
    return {"type": "layer_norm", "normalized_shape": n,
            "parameters": {"weight": vector(n, 1.0), "bias": vector(n, 0.0)}}


def dropout(n, p="1/5"):
    return {"type": "dropout", "size": n, "p": p}


def gru_reset_before(i, h):
    layer = recurrent("gru", i, h)
    layer["type"] = "gru_reset_before"
    return layer


def bidirectional(cell, i, h, **options):
    """bidirectional<cell> as rnnx::save_weights writes it: "cell", then the cell's fields;
    the cell's parameters, then the same names with "_reverse"."""
    inner = {"gru_reset_before": lambda: gru_reset_before(i, h),
             "peephole_lstm": lambda: peephole_lstm(i, h)}.get(
                 cell, lambda: recurrent(cell, i, h, **options))()
    layer = {"type": "bidirectional", "cell": cell}
    layer.update((k, v) for k, v in inner.items() if k not in ("type", "parameters"))
    params = dict(inner["parameters"])
    params.update((k + "_reverse", v) for k, v in inner["parameters"].items())
    layer["parameters"] = params
    return layer


def new_layers():
    """Every layer type added after the first five, as tests/layers_test.cpp's
    NewLayers.SaveAndLoadRoundTrip saves them."""
    return document(embedding(12, 6), peephole_lstm(6, 5), dropout(5), layer_norm(5),
                    dense(5, 12, "softmax"))


class Tool(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, content, name="model.json"):
        path = os.path.join(self.dir, name)
        if isinstance(content, (dict, list)):
            content = json.dumps(content)
        if isinstance(content, str):
            content = content.encode("utf-8")
        with open(path, "wb") as f:
            f.write(content)
        return path

    def run_tool(self, *args, cwd=None):
        return subprocess.run([sys.executable, TOOL] + list(args), capture_output=True,
                              text=True, cwd=cwd)

    def generate(self, content, *args):
        """Runs the tool on content; returns (result, header text or None)."""
        source = self.write(content)
        out = os.path.join(self.dir, "out.hpp")
        result = self.run_tool(source, "-o", out, *args)
        text = None
        if os.path.exists(out):
            with open(out, encoding="utf-8") as f:
                text = f.read()
        return result, text

    def assert_fails(self, content, pattern, *args, status=1):
        """The tool refuses content: status, one stderr line matching pattern, no output."""
        result, text = self.generate(content, *args)
        self.assertEqual(result.returncode, status, result.stderr)
        lines = result.stderr.splitlines()
        self.assertEqual(len(lines), 1, "not one line: %r" % result.stderr)
        self.assertRegex(lines[0], r"^rnnx-codegen: error: ")
        self.assertRegex(lines[0], pattern)
        self.assertIsNone(text, "an output file was written")
        self.assertEqual(result.stdout, "")
        self.assertEqual(os.listdir(self.dir), ["model.json"], "stray files left behind")
        return lines[0]

    # ---- the input problems issue 4 lists ---------------------------------------------

    def test_malformed_json(self):
        self.assert_fails(json.dumps(valid())[:-7],
                          r"model\.json: not valid JSON: parse error at line 1, column \d+: ")
        self.assert_fails("", r"not valid JSON: parse error at line 1, column 1: Expecting value$")
        self.assert_fails('{"name": "é",\n "x": }', r"parse error at line 2, column 7: ")
        self.assert_fails('{"format": "rnnx.weights",}', r"not valid JSON")

    def test_duplicate_keys_are_refused(self):
        text = json.dumps(valid()).replace('"version": 1', '"version": 1, "version": 1')
        self.assert_fails(text, r'not valid JSON: the key "version" appears twice in one object$')

    def test_not_utf8(self):
        text = json.dumps(valid()).encode("utf-8")
        # nlohmann::json's messages, where its lexer stops; the byte escaped, never raw.
        self.assert_fails(text[:10] + b"\xff" + text[10:],
                          r"not valid JSON: parse error at line 1, column 11: syntax error while "
                          r"parsing value - invalid literal; last read: '\"format\":\\xFF'$")
        self.assert_fails(b'{"format": "rnnx.weights\xc3"}',
                          r"parse error at line 1, column 26: syntax error while parsing value - "
                          r"invalid string: ill-formed UTF-8 byte; last read: "
                          r"'\"rnnx\.weights\\xC3\"'$")
        self.assert_fails(b'{"a": 1, "\xf0\x9f\x98"}', r"column 14: syntax error while parsing "
                          r"object key - invalid string: ill-formed UTF-8 byte; last read: "
                          r"'\"\\xF0\\x9F\\x98\"'$")

    def test_utf8_bom_is_accepted(self):
        result, text = self.generate(b"\xef\xbb\xbf" + json.dumps(valid()).encode())
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIsNotNone(text)

    def test_unknown_layer_type(self):
        doc = valid()
        doc["layers"][1]["type"] = "conv1d"
        self.assert_fails(doc, r"layer 1: unknown layer type 'conv1d' \(expected lstm, gru, "
                               r"rnn, dense, activation, peephole_lstm, embedding, layer_norm, "
                               r"prelu, dropout, gru_reset_before, bidirectional, mgu, "
                               r"cifg_lstm, indrnn, light_gru\)$")
        doc["layers"][1]["type"] = "x\ny" * 300  # user text stays on one line, shortened
        line = self.assert_fails(doc, r"unknown layer type 'x\\x0Ay")
        self.assertLess(len(line), 360)
        self.assertIn("... (900 bytes)' (expected", line)
        del doc["layers"][1]["type"]
        self.assert_fails(doc, r"layer 1: missing field 'type' \(a string\)")

    def test_shape_mismatch_between_layers(self):
        self.assert_fails(document(recurrent("lstm", 1, 32), dense(31, 1)),
                          r"layer 1 \(dense<31, 1, identity>\) expects 31 inputs, but layer 0 "
                          r"\(lstm<1, 32>\) outputs 32$")
        self.assert_fails(document(recurrent("gru", 2, 4), recurrent("rnn", 5, 3,
                                                                     nonlinearity="tanh")),
                          r"layer 1 \(rnn<5, 3, tanh>\) expects 5 inputs, but layer 0 "
                          r"\(gru<2, 4>\) outputs 4")

    def test_missing_tensor(self):
        doc = valid()
        del doc["layers"][0]["parameters"]["bias_hh"]
        self.assert_fails(doc, r"layer 0 \(lstm<1, 3>\): parameter 'bias_hh' is missing$")
        doc = valid()
        del doc["layers"][1]["parameters"]
        self.assert_fails(doc, r"layer 1 \(dense<3, 1, identity>\): parameter 'weight' is "
                               r"missing")

    def test_extra_tensor(self):
        doc = valid()
        doc["layers"][0]["parameters"]["weight_hr"] = matrix(12, 3)
        self.assert_fails(doc, r"layer 0 \(lstm<1, 3>\): unknown parameter 'weight_hr'$")
        doc = document(recurrent("lstm", 1, 3),
                       {"type": "activation", "size": 3, "function": "tanh",
                        "parameters": {"weight": [1]}})
        self.assert_fails(doc, r"layer 1 \(activation<3, tanh>\): unknown parameter 'weight' "
                               r"\(this layer has no parameters\)")

    def test_wrong_tensor_shapes(self):
        doc = valid()
        doc["layers"][0]["parameters"]["weight_hh"] = matrix(11, 3)
        self.assert_fails(doc, r"layer 0 \(lstm<1, 3>\): parameter 'weight_hh' must be a list "
                               r"of 12 rows \(shape \[12 x 3\]\), found 11 entries$")
        doc = valid()
        doc["layers"][0]["parameters"]["weight_hh"][5] = vector(4)
        self.assert_fails(doc, r"parameter 'weight_hh' row 5 must hold 3 numbers \(shape "
                               r"\[12 x 3\]\), found 4 entries$")
        doc = valid()
        doc["layers"][1]["parameters"]["bias"] = 0.5
        self.assert_fails(doc, r"parameter 'bias' must be a list of 1 number \(shape \[1\]\), "
                               r"found a number$")
        doc = valid()
        doc["layers"][1]["parameters"]["weight"] = [0.1]
        self.assert_fails(doc, r"parameter 'weight' row 0 must hold 3 numbers .* found a number")

    def test_non_finite_literals_are_not_json(self):
        # As nlohmann::json says (tests/data/validation_cases.json has the exact texts).
        for literal in ("NaN", "Infinity", "-Infinity"):
            text = json.dumps(valid()).replace("0.25", literal, 1)
            self.assert_fails(text, r"not valid JSON: parse error at line 1, column \d+: syntax "
                                    r"error while parsing value - invalid (literal|number)")

    def test_values_that_overflow(self):
        doc = valid()
        doc["layers"][1]["parameters"]["bias"] = [-3.5e38]  # a finite double, not a float32
        self.assert_fails(doc, r"layer 1 \(dense<3, 1, identity>\): parameter 'bias'\[0\] = "
                               r"-3\.5e\+38 is not a finite float32 value$")
        # Beyond double's range: not JSON that rnnx reads (nlohmann::json's out_of_range).
        for literal in ("1e400", "-" + "1" * 400):
            text = json.dumps(document(dense(1, 1), dtype="float64")).replace("0.25", literal, 1)
            self.assert_fails(text, r"not valid JSON: number overflow parsing '%s"
                                    % re.escape(literal[:20]))

    def test_non_numeric_values(self):
        for value, kind in (("x", "a string"), (None, "null"), (True, "a boolean"),
                            ([1], "an array"), ({}, "an object")):
            doc = valid()
            doc["layers"][0]["parameters"]["bias_ih"][7] = value
            self.assert_fails(doc, r"layer 0 \(lstm<1, 3>\): parameter 'bias_ih'\[7\] is %s, not "
                                   r"a number$" % kind)

    def test_huge_declared_sizes(self):
        doc = valid()
        doc["layers"][0]["hidden_size"] = 10 ** 12
        self.assert_fails(doc, r"layer 0 \(lstm\): field 'hidden_size' is 1000000000000, more "
                               r"than rnnx-codegen's limit of 65536$")
        # Within the per-size limit, but 4 * 65536 * 65536 values: refused before reading any.
        doc = document({"type": "lstm", "input_size": 65536, "hidden_size": 65536})
        self.assert_fails(doc, r"the model declares 34360262656 parameter values, more than the "
                               r"limit of 4194304 \(--max-parameters\)$")
        self.assert_fails(valid(), r"declares 76 parameter values, more than the limit of 64",
                          "--max-parameters", "64")

    def test_file_size_limit(self):
        self.assert_fails(json.dumps(valid()) + " " * (1 << 20),
                          r"model\.json' holds 10\d{5} bytes, more than the 1048640 this reader "
                          r"accepts \(--max-file-bytes sets the limit\)$", "--max-parameters", "1")
        # --max-file-bytes sets it; the file is refused unread (it is not JSON at all).
        self.assert_fails("[" * 101, r"holds 101 bytes, more than the 100 this reader accepts",
                          "--max-file-bytes", "100")
        result, text = self.generate(valid(), "--max-file-bytes", str(len(json.dumps(valid()))))
        self.assertEqual(result.returncode, 0, result.stderr)

    def test_comments_cannot_be_broken_out_of(self):
        # A key with a newline, reached through --pointer, and a file name with one.
        doc = {"a\n#error injected": valid()}
        source = self.write(doc, "bad\nname.json")
        out = os.path.join(self.dir, "out.hpp")
        result = self.run_tool(source, "--pointer", "/a\n#error injected", "-o", out)
        self.assertEqual(result.returncode, 0, result.stderr)
        with open(out) as f:
            text = f.read()
        self.assertNotIn("\n#error", text)
        self.assertIn("// Source: bad\\nname.json (float32)", text)
        self.assertIn("--pointer '/a\\n#error injected'", text)

    def test_bad_sizes(self):
        for value, shown in ((0, "0"), (-3, "-3"), (3.0, "3.0"), ("3", '"3"'), (True, "true")):
            doc = valid()
            doc["layers"][0]["input_size"] = value
            self.assert_fails(doc, r"layer 0 \(lstm\): field 'input_size' must be a positive "
                                   r"integer, found %s$" % re.escape(shown))
        doc = valid()
        del doc["layers"][1]["out_features"]
        self.assert_fails(doc, r"layer 1 \(dense\): field 'out_features' is missing$")

    def test_bad_options(self):
        doc = document(recurrent("rnn", 1, 2, nonlinearity="gelu"))
        self.assert_fails(doc, r"layer 0 \(rnn\): field 'nonlinearity' is \"gelu\"; it must be "
                               r"one of tanh, relu$")
        self.assert_fails(document(dense(1, 1, "swish")),
                          r"field 'activation' is \"swish\"; it must be one of identity, "
                          r"sigmoid, tanh, relu, elu, softmax$")
        self.assert_fails(document(recurrent("rnn", 1, 2)), r"field 'nonlinearity' is missing")
        self.assert_fails(document({"type": "activation", "size": 2, "function": ["tanh"]}),
                          r"field 'function' is \[\"tanh\"\]; it must be one of")

    def test_unknown_layer_field(self):
        doc = valid()
        doc["layers"][0]["dropout"] = 0.1
        self.assert_fails(doc, r"layer 0 \(lstm\): unknown field 'dropout'$")

    def test_document_structure(self):
        self.assert_fails([1, 2], r"the document must be a JSON object, found an array$")
        doc = valid()
        doc["format"] = "keras"
        self.assert_fails(doc, r"field 'format' must be \"rnnx.weights\", found \"keras\"$")
        for version in (2, True, "1"):
            doc = valid()
            doc["version"] = version
            self.assert_fails(doc, r"field 'version' must be 1, found ")
        doc = valid()
        doc["dtype"] = "float16"
        self.assert_fails(doc, r"field 'dtype' must be \"float32\" or \"float64\", found "
                               r"\"float16\"$")
        doc = valid()
        doc["layers"] = []
        self.assert_fails(doc, r"field 'layers' is empty")
        del doc["layers"]
        self.assert_fails(doc, r"field 'layers' \(a list\) is missing$")
        doc = valid()
        doc["layers"][1] = "dense"
        self.assert_fails(doc, r"layer 1: must be an object, found a string$")

    def test_float64_into_float_is_refused(self):
        self.assert_fails(document(dense(1, 1), dtype="float64"),
                          r"the file holds float64 values and --scalar is float; they would be "
                          r"rounded", "--scalar", "float")

    def test_deep_nesting(self):
        self.assert_fails("[" * 100000 + "]" * 100000, r"not valid JSON: nested too deeply$")

    def test_bad_names(self):
        for name, why in (("2x", "is not a C\\+\\+ identifier"), ("class", "is a C\\+\\+ keyword"),
                          ("a__b", "is reserved"), ("_Model", "is reserved"),
                          ("rnnx", "would hide the namespace")):
            self.assert_fails(valid(), r'--name "%s" %s' % (name, why), "--name", name)
        self.assert_fails(valid(), r'--namespace component "" is not a C\+\+ identifier',
                          "--namespace", "a::b::")
        self.assert_fails(valid(), r'--namespace component "std" would hide', "--namespace",
                          "std")

    def test_bad_pointer(self):
        self.assert_fails({"case": "x", "model": valid()},
                          r'--pointer "/modl": "the document" has no member "modl"$',
                          "--pointer", "/modl")
        self.assert_fails({"model": valid()}, r'--pointer "model" must be empty or start with',
                          "--pointer", "model")

    def test_bad_command_lines(self):
        self.assert_fails(valid(), r"argument --scalar: invalid choice: 'half'", "--scalar",
                          "half", status=2)
        source = self.write(valid())
        result = self.run_tool(source)
        self.assertEqual(result.returncode, 1)
        self.assertIn("-o OUTPUT is required (or --check)", result.stderr)

    def test_unreadable_input_and_unwritable_output(self):
        result = self.run_tool(os.path.join(self.dir, "absent.json"), "-o",
                               os.path.join(self.dir, "out.hpp"))
        self.assertEqual(result.returncode, 1)
        self.assertRegex(result.stderr, r"absent\.json: cannot read: No such file or directory")
        self.assertEqual(os.listdir(self.dir), [])
        source = self.write(valid())
        result = self.run_tool(source, "-o", os.path.join(self.dir, "no", "out.hpp"))
        self.assertEqual(result.returncode, 1)
        self.assertRegex(result.stderr, r"cannot write .*out\.hpp.*: directory .* does not exist")
        result = self.run_tool(source, "-o", self.dir)
        self.assertRegex(result.stderr, r"cannot write .*: it is a directory")
        self.assertEqual(os.listdir(self.dir), ["model.json"])

    def test_error_leaves_an_existing_output_untouched(self):
        out = os.path.join(self.dir, "out.hpp")
        with open(out, "w") as f:
            f.write("previous header\n")
        source = self.write(document(recurrent("lstm", 1, 32), dense(31, 1)))
        result = self.run_tool(source, "-o", out)
        self.assertEqual(result.returncode, 1)
        with open(out) as f:
            self.assertEqual(f.read(), "previous header\n")
        self.assertEqual(sorted(os.listdir(self.dir)), ["model.json", "out.hpp"])

    # ---- embedding, peephole_lstm, layer_norm, dropout ------------------------------------

    def test_dropout_probability_must_be_a_reduced_fraction(self):
        for p in ("0.2", "2/10", "5/5", "6/5", "1/0", "01/5", "-1/5", "+1/5", " 1/5", "1/5 ",
                  "1 / 5", "0/5", "1/%d" % (1 << 63), "1/2/3", ""):
            with self.subTest(p=p):
                self.assert_fails(document(dense(2, 5), dropout(5, p)),
                                  r'layer 1 \(dropout\): field \'p\' is %s; it must be a '
                                  r'reduced fraction "a/b" with 0 <= a < b, e.g. "1/5"$'
                                  % re.escape(json.dumps(p)))
        for p, kind in ((0.2, "0.2"), (None, "null"), ([1, 5], r"\[1,5\]")):
            self.assert_fails(document(dense(2, 5), dropout(5, p)),
                              r"layer 1 \(dropout\): field 'p' is %s; it must be a reduced "
                              r"fraction" % kind)
        doc = document(dense(2, 5), dropout(5))
        del doc["layers"][1]["p"]
        self.assert_fails(doc, r"layer 1 \(dropout\): field 'p' is missing$")
        # The largest std::intmax_t is a valid denominator; 0 is written 0/1.
        for p, ratio in (("1/%d" % ((1 << 63) - 1), "std::ratio<1, %d>" % ((1 << 63) - 1)),
                         ("0/1", "std::ratio<0, 1>"), ("999999/1000000",
                                                       "std::ratio<999999, 1000000>")):
            result, text = self.generate(document(dense(2, 5), dropout(5, p)))
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertIn("rnnx::dropout<5, %s>" % ratio, text)

    def test_dropout_has_no_parameters(self):
        self.assert_fails(document(dense(2, 5), dict(dropout(5), parameters={"mask": [1]})),
                          r"layer 1 \(dropout<5, 1/5>\): unknown parameter 'mask' \(this layer "
                          r'has no parameters\)$')
        result, text = self.generate(document(dense(2, 5), dict(dropout(5), parameters={})))
        self.assertEqual(result.returncode, 0, result.stderr)

    def test_new_layer_parameters_and_sizes(self):
        doc = new_layers()
        del doc["layers"][1]["parameters"]["weight_cf"]
        self.assert_fails(doc, r"layer 1 \(peephole_lstm<6, 5>\): parameter 'weight_cf' is "
                               r"missing$")
        doc = new_layers()
        doc["layers"][1]["parameters"]["weight_co"] = vector(6)
        self.assert_fails(doc, r"layer 1 \(peephole_lstm<6, 5>\): parameter 'weight_co' must be "
                               r"a list of 5 numbers \(shape \[5\]\), found 6 entries$")
        doc = new_layers()
        doc["layers"][0]["parameters"]["weight"] = matrix(6, 12)
        self.assert_fails(doc, r"layer 0 \(embedding<12, 6>\): parameter 'weight' must be a list "
                               r"of 12 rows \(shape \[12 x 6\]\), found 6 entries$")
        doc = new_layers()
        doc["layers"][3]["parameters"]["bias"] = vector(4)
        self.assert_fails(doc, r"layer 3 \(layer_norm<5>\): parameter 'bias' must be a list of "
                               r"5 numbers")
        doc = new_layers()
        del doc["layers"][3]["normalized_shape"]
        self.assert_fails(doc, r"layer 3 \(layer_norm\): field 'normalized_shape' is missing$")
        doc = new_layers()
        doc["layers"][0]["num_embeddings"] = 0
        self.assert_fails(doc, r"layer 0 \(embedding\): field 'num_embeddings' must be a "
                               r"positive integer, found 0$")
        doc = new_layers()
        doc["layers"][0]["padding_idx"] = 0
        self.assert_fails(doc, r"layer 0 \(embedding\): unknown field 'padding_idx'$")
        # Sizes chain through them; an embedding takes one value (a token id) per step.
        self.assert_fails(document(embedding(12, 6), peephole_lstm(5, 5)),
                          r"layer 1 \(peephole_lstm<5, 5>\) expects 5 inputs, but layer 0 "
                          r"\(embedding<12, 6>\) outputs 6$")
        self.assert_fails(document(dense(3, 2), embedding(12, 6)),
                          r"layer 1 \(embedding<12, 6>\) expects 1 inputs, but layer 0 "
                          r"\(dense<3, 2, identity>\) outputs 2$")
        self.assert_fails(document(dense(3, 2), dropout(3)),
                          r"layer 1 \(dropout<3, 1/5>\) expects 3 inputs, but layer 0")
        self.assert_fails(document(dense(3, 2), layer_norm(3)),
                          r"layer 1 \(layer_norm<3>\) expects 3 inputs, but layer 0")

    def test_bidirectional_and_gru_reset_before(self):
        doc = document(gru_reset_before(3, 5), bidirectional("lstm", 5, 4),
                       bidirectional("rnn", 8, 2, nonlinearity="relu"),
                       bidirectional("peephole_lstm", 4, 3), bidirectional("gru", 6, 1),
                       bidirectional("gru_reset_before", 2, 2), dense(4, 1))
        source = self.write(doc)
        out = os.path.join(self.dir, "out.hpp")
        result = self.run_tool(source, "-o", out, "--name", "Net")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.splitlines()[1:], [
            "  network: gru_reset_before<3, 5> -> bidirectional<lstm, 5, 4> -> "
            "bidirectional<rnn, 8, 2, relu> -> bidirectional<peephole_lstm, 4, 3> -> "
            "bidirectional<gru, 6, 1> -> bidirectional<gru_reset_before, 2, 2> -> "
            "dense<4, 1, identity> (float)",
            "  #  layer                                  output  parameters  bytes",
            "  0  gru_reset_before<3, 5>                      5         150    600",
            "  1  bidirectional<lstm, 5, 4>                   8         352  1,408",
            "  2  bidirectional<rnn, 8, 2, relu>              4          48    192",
            "  3  bidirectional<peephole_lstm, 4, 3>          6         234    936",
            "  4  bidirectional<gru, 6, 1>                    2          54    216",
            "  5  bidirectional<gru_reset_before, 2, 2>       4          72    288",
            "  6  dense<4, 1, identity>                       1           5     20",
            "     total                                                 915  3,660",
            "  input 3, output 1"])
        with open(out) as f:
            text = f.read()
        self.assertIn("using Net = rnnx::basic_network<float,\n    rnnx::gru_reset_before<3, 5>,\n"
                      "    rnnx::bidirectional<rnnx::lstm<5, 4>>,\n"
                      "    rnnx::bidirectional<rnnx::rnn<8, 2, rnnx::relu>>,\n"
                      "    rnnx::bidirectional<rnnx::peephole_lstm<4, 3>>,\n"
                      "    rnnx::bidirectional<rnnx::gru<6, 1>>,\n"
                      "    rnnx::bidirectional<rnnx::gru_reset_before<2, 2>>,\n"
                      "    rnnx::dense<4, 1, rnnx::identity>>;\n", text)
        for header in ("bidirectional", "gru_reset_before", "lstm", "rnn", "gru",
                       "activation_functions"):
            self.assertIn("#include <rnnx/layers/%s.hpp>\n" % header, text)
        self.assertIn("// layer 0 (gru_reset_before<3, 5>) weight_hh [15 x 5]; gate rows r, z, n\n",
                      text)
        self.assertIn("// layer 1 (bidirectional<lstm, 5, 4>) weight_hh_reverse [16 x 4]; gate rows "
                      "i, f, g, o\n", text)
        self.assertIn("inline constexpr float layer3_weight_co_reverse[3] = {", text)
        self.assertIn("inline constexpr float layer2_bias_ih_reverse[2] = {", text)
        self.assertIn("  if (assigned != 52)\n", text)  # 4 + 8 + 8 + 14 + 8 + 8 + 2
        self.assertNotIn("step(", text)  # a bidirectional network has no step
        # gru_reset_before alone, and a bidirectional rnn's activation header.
        result, text = self.generate(document(gru_reset_before(2, 3)))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("#include <rnnx/layers/gru_reset_before.hpp>\n", text)
        self.assertNotIn("rnnx/layers/gru.hpp", text)
        result, text = self.generate(document(bidirectional("rnn", 2, 3, nonlinearity="tanh")))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("#include <rnnx/layers/activation_functions.hpp>\n", text)
        self.assertIn("rnnx::bidirectional<rnnx::rnn<2, 3, rnnx::tanh>>", text)

    # ---- layer types from a schema of one's own (--layers) ---------------------------------

    def user_schema(self, **changes):
        """A layer schema with one cell, 'twin' (my::twin in my/twin.hpp), written outside
        self.dir (which must hold only the weight file); returns its path."""
        f = lambda a, k=1: {"attribute": a, "factor": k}  # noqa: E731
        entry = {"type": "twin", "cpp_template": "my::twin", "header": "my/twin.hpp",
                 "cell": True, "gate_names": "a, b",
                 "attributes": [{"key": "input_size", "kind": "size"},
                                {"key": "hidden_size", "kind": "size"}],
                 "input": f("input_size"), "output": f("hidden_size"),
                 "parameters": [{"name": "weight_ih", "shape": [f("hidden_size", 2),
                                                                f("input_size")]},
                                {"name": "bias_ih", "shape": [f("hidden_size", 2)]}]}
        entry.update(changes)
        schema_dir = tempfile.mkdtemp()
        self.addCleanup(lambda: [os.remove(os.path.join(schema_dir, n))
                                 for n in os.listdir(schema_dir)] and None)
        path = os.path.join(schema_dir, "twin.json")
        with open(path, "w") as out:
            json.dump({"format": "rnnx.layers", "version": 1, "layers": [entry]}, out)
        return path

    def twin_document(self):
        twin = {"type": "twin", "input_size": 1, "hidden_size": 3,
                "parameters": {"weight_ih": matrix(6, 1), "bias_ih": vector(6)}}
        return document(twin, dense(3, 1))

    def test_user_layer_schema(self):
        result, text = self.generate(self.twin_document(), "--layers", self.user_schema())
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("#include <my/twin.hpp>\n", text)
        self.assertIn("rnnx::basic_network<float, my::twin<1, 3>, rnnx::dense<3, 1, "
                      "rnnx::identity>>", text)
        self.assertIn("// layer 0 (twin<1, 3>) weight_ih [6 x 1]; gate rows a, b", text)
        os.remove(os.path.join(self.dir, "out.hpp"))
        self.assert_fails(self.twin_document(), r"layer 0: unknown layer type 'twin' \(expected "
                                                r"lstm, .*, light_gru\)$")
        self.assert_fails(self.twin_document(), r"layer 0 \(twin<1, 3>\): parameter "
                                                r"'weight_ih' must be a list of 4 rows",
                          "--layers", self.user_schema(parameters=[
                              {"name": "weight_ih", "shape": [{"attribute": "input_size",
                                                               "factor": 4},
                                                              {"attribute": "input_size",
                                                               "factor": 1}]},
                              {"name": "bias_ih", "shape": [{"attribute": "hidden_size",
                                                             "factor": 2}]}]))

    def test_user_layer_schema_errors(self):
        doc = self.twin_document()
        self.assert_fails(doc, r"field 'cpp_template' must be a C\+\+ name such as rnnx::lstm, "
                               r"found \"my::twin; int x\"$",
                          "--layers", self.user_schema(cpp_template="my::twin; int x"))
        self.assert_fails(doc, r"field 'header' must be an include path such as my/cell.hpp, "
                               r"found \"a>\\nb\"$",
                          "--layers", self.user_schema(header="a>\nb"))
        self.assert_fails(doc, r"layer schema '.*twin.json': layer 0 \(lstm\): layer type "
                               r"'lstm' is described twice$",
                          "--layers", self.user_schema(type="lstm"))
        self.assert_fails(doc, r"field 'output' names \"width\", which is not one of the "
                               r"layer's size fields \(input_size, hidden_size\)$",
                          "--layers", self.user_schema(output={"attribute": "width",
                                                               "factor": 1}))
        self.assert_fails(doc, r"cannot read the layer schema '/no/such/schema.json': No such "
                               r"file or directory$", "--layers", "/no/such/schema.json")
        with open(self.user_schema(), "w") as broken:
            broken.write("{")
        self.assert_fails(doc, r"the layer schema '.*' is not JSON: ",
                          "--layers", broken.name)

    def test_bidirectional_errors(self):
        bi = lambda **kw: dict(bidirectional("gru", 2, 3), **kw)  # noqa: E731
        doc = document(bi())
        del doc["layers"][0]["cell"]
        self.assert_fails(doc, r"layer 0 \(bidirectional\): field 'cell' is missing$")
        for cell, shown in (("dense", '"dense"'), ("bidirectional", '"bidirectional"'),
                            (3, "3"), (None, "null")):
            self.assert_fails(document(bi(cell=cell)),
                              r"layer 0 \(bidirectional\): field 'cell' is %s; it must be one "
                              r"of lstm, gru, rnn, peephole_lstm, gru_reset_before, mgu, "
                              r"cifg_lstm, indrnn, light_gru$" % shown)
        doc = document(bi())
        del doc["layers"][0]["hidden_size"]
        self.assert_fails(doc, r"layer 0 \(bidirectional\): field 'hidden_size' is missing$")
        self.assert_fails(document(bidirectional("rnn", 2, 3)),
                          r"layer 0 \(bidirectional\): field 'nonlinearity' is missing$")
        self.assert_fails(document(bi(nonlinearity="tanh")),
                          r"layer 0 \(bidirectional\): unknown field 'nonlinearity'$")
        doc = document(bi())
        del doc["layers"][0]["parameters"]["bias_hh_reverse"]
        self.assert_fails(doc, r"layer 0 \(bidirectional<gru, 2, 3>\): parameter "
                               r"'bias_hh_reverse' is missing$")
        doc = document(bi())
        doc["layers"][0]["parameters"]["weight_hh_reverse"] = matrix(9, 2)
        self.assert_fails(doc, r"layer 0 \(bidirectional<gru, 2, 3>\): parameter "
                               r"'weight_hh_reverse' row 0 must hold 3 numbers \(shape \[9 x 3\]\)")
        doc = document(bi())
        doc["layers"][0]["parameters"]["weight_ci_reverse"] = vector(3)
        self.assert_fails(doc, r"layer 0 \(bidirectional<gru, 2, 3>\): unknown parameter "
                               r"'weight_ci_reverse'$")
        # The output is both directions: 2 * hidden_size.
        self.assert_fails(document(bi(), dense(3, 1)),
                          r"layer 1 \(dense<3, 1, identity>\) expects 3 inputs, but layer 0 "
                          r"\(bidirectional<gru, 2, 3>\) outputs 6$")
        self.assert_fails(document(dense(2, 4), bi()),
                          r"layer 1 \(bidirectional<gru, 2, 3>\) expects 2 inputs, but layer 0 "
                          r"\(dense<2, 4, identity>\) outputs 4$")

    def test_new_layers_header_and_summary(self):
        source = self.write(new_layers())
        out = os.path.join(self.dir, "out.hpp")
        result = self.run_tool(source, "-o", out, "--name", "Net")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.splitlines()[1:], [
            "  network: embedding<12, 6> -> peephole_lstm<6, 5> -> dropout<5, 1/5> -> "
            "layer_norm<5> -> dense<5, 12, softmax> (float)",
            "  #  layer                  output  parameters  bytes",
            "  0  embedding<12, 6>            6          72    288",
            "  1  peephole_lstm<6, 5>         5         275  1,100",
            "  2  dropout<5, 1/5>             5           0      0",
            "  3  layer_norm<5>               5          10     40",
            "  4  dense<5, 12, softmax>      12          72    288",
            "     total                                 429  1,716",
            "  input 1, output 12"])
        with open(out) as f:
            text = f.read()
        self.assertIn("using Net = rnnx::basic_network<float,\n    rnnx::embedding<12, 6>,\n"
                      "    rnnx::peephole_lstm<6, 5>,\n    rnnx::dropout<5, std::ratio<1, 5>>,\n"
                      "    rnnx::layer_norm<5>,\n    rnnx::dense<5, 12, rnnx::softmax>>;\n", text)
        for header in ("<ratio>", "<rnnx/layers/embedding.hpp>", "<rnnx/layers/lstm.hpp>",
                       "<rnnx/layers/dropout.hpp>", "<rnnx/layers/layer_norm.hpp>"):
            self.assertIn("#include %s\n" % header, text)
        self.assertIn("inline constexpr float layer0_weight[12][6] = {", text)
        self.assertIn("// layer 1 (peephole_lstm<6, 5>) weight_hh [20 x 5]; gate rows i, f, g, o\n",
                      text)
        for name in ("weight_ci", "weight_cf", "weight_co"):
            self.assertIn("inline constexpr float layer1_%s[5] = {" % name, text)
        self.assertIn("inline constexpr float layer3_bias[5] = {", text)
        self.assertNotIn("layer2_", text)  # dropout: nothing to fill
        self.assertIn("  if (assigned != 12)\n", text)  # 1 + 7 + 2 + 2 tensors
        # <ratio> only when a dropout layer needs it.
        result, text = self.generate(document(embedding(3, 2), layer_norm(2)))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertNotIn("<ratio>", text)
        self.assertIn("rnnx::basic_network<float, rnnx::embedding<3, 2>, rnnx::layer_norm<2>>",
                      text)

    # ---- what a valid input gives -----------------------------------------------------

    def test_header_declares_the_type_and_functions(self):
        doc = document(recurrent("lstm", 1, 3), recurrent("gru", 3, 2),
                       recurrent("rnn", 2, 2, nonlinearity="relu"), dense(2, 2, "softmax"),
                       {"type": "activation", "size": 2, "function": "sigmoid", "name": "out"})
        result, text = self.generate(doc, "--name", "Net", "--namespace", "a::b")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("namespace a::b {\n", text)
        self.assertIn("using Net = rnnx::basic_network<float,\n    rnnx::lstm<1, 3>,\n"
                      "    rnnx::gru<3, 2>,\n    rnnx::rnn<2, 2, rnnx::relu>,\n"
                      "    rnnx::dense<2, 2, rnnx::softmax>,\n"
                      "    rnnx::activation<2, rnnx::sigmoid>>;\n", text)
        self.assertIn("inline void fill_Net(Net& model) {", text)
        self.assertIn("inline std::unique_ptr<Net> make_Net() {", text)
        self.assertIn("inline constexpr float layer0_weight_ih[12][1] = {", text)
        self.assertIn("inline constexpr float layer3_bias[2] = {", text)
        self.assertNotIn("layer4_", text)
        with open(os.path.join(self.dir, "model.json"), "rb") as f:
            import hashlib
            digest = hashlib.sha256(f.read()).hexdigest()
        self.assertIn("// Source SHA-256: %s\n" % digest, text)
        self.assertIn('Net_source_sha256 =\n    "%s";' % digest, text)
        long_lines = [line for line in text.splitlines()
                      if len(line) > 100 and not line.startswith("// network: ")]
        self.assertEqual(long_lines, [])

    def test_values_print_bit_exactly(self):
        # float32 file: each value rounds as load_weights rounds it (to double, then float).
        values = [0.0, -0.0, 1, -2, 1.4e-45, 3.4028235e38, 0.1,
                  "1.0000000596046447753906250001", 16777217]
        text = json.dumps(document(dense(len(values), 1))).replace(
            json.dumps(matrix(1, len(values))),
            "[[" + ", ".join(v if isinstance(v, str) else json.dumps(v) for v in values) + "]]")
        result, header = self.generate(text)
        self.assertEqual(result.returncode, 0, result.stderr)
        row = literals(header, "layer0_weight[1][9]")
        self.assertEqual(row, ["0.0f", "-0.0f", "1.0f", "-2.0f", "1.40129846e-45f",
                                           "3.40282347e+38f", "0.100000001f", "1.0f",
                                           "16777216.0f"])
        # Each literal, rounded to float32 as a compiler does, gives the float32 that
        # load_weights stores: the value read as a double, then rounded to float.
        for literal, value in zip(row, values):
            self.assertEqual(float32_bits(float(literal[:-1])), float32_bits(float(value)))
        # --scalar double from a float32 file: the float32 values, exactly, in 17 digits.
        result, header = self.generate(text, "--scalar", "double")
        row = literals(header, "layer0_weight[1][9]")
        self.assertEqual(row[6], "0.10000000149011612")
        for literal, value in zip(row, values):
            self.assertEqual(float(literal), struct.unpack("<f", float32_bits(float(value)))[0])
        self.assertIn("rnnx::basic_network<double, ", header)

    def test_float64_file_defaults_to_double(self):
        text = json.dumps(document(dense(1, 3), dtype="float64")).replace(
            json.dumps(matrix(3, 1)), "[[5e-324], [0.30000000000000004], [1e308]]")
        result, header = self.generate(text)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("rnnx::basic_network<double, rnnx::dense<1, 3, rnnx::identity>>", header)
        self.assertIn("{4.9406564584124654e-324},\n    {0.30000000000000004},\n"
                      "    {1e+308},", header)

    def test_summary(self):
        source = self.write(valid())
        out = os.path.join(self.dir, "out.hpp")
        result = self.run_tool(source, "-o", out, "--name", "Small")
        self.assertEqual(result.returncode, 0)
        self.assertEqual(result.stderr, "")
        self.assertEqual(result.stdout.splitlines()[1:], [
            "  network: lstm<1, 3> -> dense<3, 1, identity> (float)",
            "  #  layer                  output  parameters  bytes",
            "  0  lstm<1, 3>                  3          72    288",
            "  1  dense<3, 1, identity>       1           4     16",
            "     total                                  76    304",
            "  input 1, output 1"])
        result = self.run_tool(source, "-o", out, "-q")
        self.assertEqual((result.returncode, result.stdout, result.stderr), (0, "", ""))

    def test_check_writes_nothing(self):
        source = self.write(valid())
        result = self.run_tool(source, "--check")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("network: lstm<1, 3>", result.stdout)
        self.assertEqual(os.listdir(self.dir), ["model.json"])

    def test_pointer_into_a_fixture(self):
        fixture = os.path.join(FIXTURES, "gru_2_7__dense_3_softmax.json")
        out = os.path.join(self.dir, "out.hpp")
        result = self.run_tool(fixture, "--pointer", "/model", "-o", out, "-q")
        self.assertEqual(result.returncode, 0, result.stderr)
        with open(out) as f:
            self.assertIn("rnnx::gru<2, 7>, rnnx::dense<7, 3, rnnx::softmax>>;", f.read())
        result = self.run_tool(fixture, "-o", out)  # the fixture itself is not a weight file
        self.assertIn("field 'format' must be", result.stderr)

    def test_deterministic_and_independent_of_the_path(self):
        doc = valid()
        a = self.write(doc, "model.json")
        os.mkdir(os.path.join(self.dir, "elsewhere"))
        self.write(doc, os.path.join("elsewhere", "model.json"))
        outputs = []
        for source, cwd in ((a, None), (a, None), ("model.json",
                                                     os.path.join(self.dir, "elsewhere"))):
            out = os.path.join(self.dir, "out%d.hpp" % len(outputs))
            self.assertEqual(self.run_tool(source, "-o", out, cwd=cwd).returncode, 0)
            with open(out, "rb") as f:
                outputs.append(f.read())
        self.assertEqual(outputs[0], outputs[1])
        self.assertEqual(outputs[0], outputs[2])


if __name__ == "__main__":
    unittest.main()
