"""Evaluation harness: sandboxed execution, unbiased Pass@k, CodeBLEU (appendix "Evaluation harness")."""
from knexa_core.eval.sandbox import ExecResult, Limits, isolation, run_program

__all__ = ["ExecResult", "Limits", "isolation", "run_program"]
