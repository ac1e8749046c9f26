#!/usr/bin/env python3
"""Independent check of an exported ONNX file with the reference `onnx` package (Debian's python3-onnx).

Usage: python3 tests/reference/onnx_check.py model.onnx

Runs onnx.checker.check_model(full_check=True) (structure, opset, and strict shape inference) and prints
one JSON object: {"ok": true, "irVersion", "opset", "inputs": [{"name", "shape"}], "outputs": [...],
"ops": [...]}. Exits 1 with {"ok": false, "error": ...} when the check fails, 2 on bad usage.
"""
import json
import sys

import onnx


def dims(value_info):
    shape = value_info.type.tensor_type.shape
    return [d.dim_param if d.dim_param else d.dim_value for d in shape.dim]


def main(argv):
    if len(argv) != 2:
        print(json.dumps({"ok": False, "error": "usage: onnx_check.py model.onnx"}))
        return 2
    try:
        model = onnx.load(argv[1])
        onnx.checker.check_model(model, full_check=True)
    except Exception as err:  # noqa: BLE001 - report any failure as JSON
        print(json.dumps({"ok": False, "error": f"{type(err).__name__}: {err}"}))
        return 1
    opset = max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=0)
    print(json.dumps({
        "ok": True,
        "onnxVersion": onnx.__version__,
        "irVersion": model.ir_version,
        "opset": opset,
        "inputs": [{"name": i.name, "shape": dims(i)} for i in model.graph.input],
        "outputs": [{"name": o.name, "shape": dims(o)} for o in model.graph.output],
        "ops": sorted({n.op_type for n in model.graph.node}),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
