"""Writing an rnnx weights document (docs/weights-format.md) as text, shared by the importers
(standard library only): one matrix row per line, each value printed with enough digits to
read back exactly in its dtype, written atomically."""

import json
import os
import tempfile

DIGITS = {"float32": 9, "float64": 17}


def dumps(doc, number=None):
    """The document as JSON text. Parameters are lists of numbers (vectors) or of rows;
    number(value) formats one value (default: %.*g with the dtype's digits)."""
    if number is None:
        digits = DIGITS[doc["dtype"]]

        def number(v):
            return "%.*g" % (digits, v)

    out = ['{\n  "format": "%s",\n  "version": %d,\n  "dtype": "%s",\n  "layers": ['
           % (doc["format"], doc["version"], doc["dtype"])]
    for i, layer in enumerate(doc["layers"]):
        text = "\n    {" + ", ".join("%s: %s" % (json.dumps(k), json.dumps(v))
                                     for k, v in layer.items() if k != "parameters")
        params = layer.get("parameters")
        if params is not None:
            entries = []
            for name, values in params.items():
                if values and isinstance(values[0], list):
                    body = "[\n" + ",\n".join("        [" + ", ".join(map(number, row)) + "]"
                                              for row in values) + "]"
                else:
                    body = "[" + ", ".join(map(number, values)) + "]"
                entries.append('      "%s": %s' % (name, body))
            text += ',\n     "parameters": {\n' + ",\n".join(entries) + "}"
        out.append(text + "}" + ("," if i + 1 < len(doc["layers"]) else ""))
    out.append("\n  ]\n}\n")
    return "".join(out)


def write_atomically(path, text):
    """Write text to path through a temporary file in the same directory: the output is
    either the complete new file or whatever was there before."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp",
                               dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
