#!/usr/bin/env python3
"""Classifies countdown samples from `rlax eval --json --details` output: correct, a valid
expression with the wrong value, one that uses numbers the puzzle does not give (or one more
often than given), or malformed (or dividing inexactly); and counts the problems no sample solves.

    rlax eval --checkpoint runs/default/checkpoint --json --details > after.json
    scripts/countdown-errors.py before.json after.json

An independent re-implementation of the countdown verifier (exact division), so it also
cross-checks the `correct` share against rlax's pass@1.
"""
import ast
import collections
import json
import re
import sys


def evaluate(node):
    """Integer value of +-*/ over integers; `/` must divide exactly (ValueError otherwise)."""
    if isinstance(node, ast.Expression):
        return evaluate(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, int):
        return node.value
    if isinstance(node, ast.BinOp):
        a, b = evaluate(node.left), evaluate(node.right)
        if isinstance(node.op, ast.Add):
            return a + b
        if isinstance(node.op, ast.Sub):
            return a - b
        if isinstance(node.op, ast.Mult):
            return a * b
        if isinstance(node.op, ast.Div) and b != 0 and a % b == 0:
            return a // b
    raise ValueError("not an exact +-*/ expression")


def classify(prompt, sample):
    given, target = prompt.rstrip("=").split(":")
    pool = collections.Counter(int(x) for x in given.split(","))
    if not re.fullmatch(r"[0-9+\-*/()]+", sample or ""):
        return "malformed or inexact division"
    used = collections.Counter(int(x) for x in re.findall(r"\d+", sample))
    if any(used[n] > pool[n] for n in used):
        return "wrong numbers"
    try:
        value = evaluate(ast.parse(sample, mode="eval"))
    except (SyntaxError, ValueError):
        return "malformed or inexact division"
    return "correct" if value == int(target) else "valid, wrong value"


for path in sys.argv[1:]:
    report = json.load(open(path))
    kinds = collections.Counter(classify(p["prompt"], s) for p in report["details"] for s in p["samples"])
    total = sum(kinds.values())
    unsolved = sum(1 for p in report["details"] if p["correct"] == 0)
    shares = ", ".join(f"{k} {v / total:.3f}" for k, v in sorted(kinds.items()))
    print(f"{path}: pass@k {report['passAtK']}; samples: {shares}; "
          f"problems no sample solves: {unsolved} of {len(report['details'])}")
